"""docker_socket against a fake engine: a unix-socket (and a TCP) HTTP server in a thread."""

import json
import os
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import docker_socket as ds

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "docker"

ROUTES = {
    "/version": (200, (FIXTURES / "version.json").read_bytes()),
    "/info": (200, (FIXTURES / "info.json").read_bytes()),
    "/containers/json": (200, (FIXTURES / "containers.json").read_bytes()),
    "/broken": (200, b"<html>not json</html>"),
    "/empty": (204, b""),
}


class FakeEngine(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests = []

    def address_string(self):  # unix peers have no (host, port)
        return "fake"

    def log_message(self, *args):
        pass

    def do_GET(self):
        FakeEngine.requests.append((self.path, self.headers.get("Host"), self.headers.get("Accept")))
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"Version": ', b'"26.1.0", "ApiVersion": "1.45"}'):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        status, body = ROUTES.get(self.path, (404, b'{"message": "page not found"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def unix_engine(tmp_path):
    path = str(tmp_path / "docker.sock")
    server = serve(UnixServer(path, FakeEngine))
    FakeEngine.requests = []
    yield path
    server.shutdown()
    server.server_close()


@pytest.fixture
def tcp_engine():
    server = serve(TCPServer(("127.0.0.1", 0), FakeEngine))
    FakeEngine.requests = []
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


# ------------------------------------------------------------ docker_host forms

@pytest.mark.parametrize("value, expected", [
    ("unix:///var/run/docker.sock", ("unix", "/var/run/docker.sock", None)),
    ("unix:///run/user/1000/docker.sock", ("unix", "/run/user/1000/docker.sock", None)),
    ("tcp://10.0.0.5:2375", ("tcp", "10.0.0.5", 2375)),
    ("tcp://docker.example.net", ("tcp", "docker.example.net", 2375)),
    ("http://127.0.0.1:12375/", ("tcp", "127.0.0.1", 12375)),
    ("tcp://[::1]:2375", ("tcp", "::1", 2375)),
])
def test_parse_docker_host(value, expected):
    assert ds.parse_docker_host(value) == expected


@pytest.mark.parametrize("value, words", [
    ("https://10.0.0.5:2376", "TLS is not supported"),
    ("ssh://user@host", "unix:///path/to/docker.sock"),
    ("/var/run/docker.sock", "unix:///path/to/docker.sock"),
    ("unix://var/run/docker.sock", "absolute path"),
    ("tcp://host:notaport", "port"),
    ("tcp://:2375", "no host name"),
    ("tcp://host:2375/v1.41", "only host and port"),
    ("", "unix:///path/to/docker.sock"),
])
def test_parse_docker_host_rejects(value, words):
    with pytest.raises(ValueError) as error:
        ds.parse_docker_host(value)
    assert words in str(error.value)


# ------------------------------------------------------------ GET over a unix socket

def test_get_over_unix_socket(unix_engine):
    client = ds.DockerClient("unix://" + unix_engine, timeout=5)
    status, version = client.get("/version")
    assert status == 200
    assert version["Version"] == "20.10.24+dfsg1"
    assert version["ApiVersion"] == "1.41"
    assert client.get_json("/info")["DockerRootDir"] == "/var/lib/docker"
    names = sorted(c["Names"][0] for c in client.get_json("/containers/json"))
    assert names == ["/hostfacts-fixture-other", "/hostfacts-fixture-stt"]
    assert FakeEngine.requests[0] == ("/version", "localhost", "application/json")


def test_chunked_answer(unix_engine):
    client = ds.DockerClient("unix://" + unix_engine)
    assert client.get_json("/chunked") == {"Version": "26.1.0", "ApiVersion": "1.45"}


def test_http_error_status(unix_engine):
    client = ds.DockerClient("unix://" + unix_engine)
    assert client.get("/nope") == (404, {"message": "page not found"})
    with pytest.raises(ds.DockerSocketError) as error:
        client.get_json("/nope")
    assert str(error.value) == "GET /nope from socket %s: HTTP 404: page not found" % unix_engine


def test_not_json(unix_engine):
    client = ds.DockerClient("unix://" + unix_engine)
    with pytest.raises(ds.DockerSocketError) as error:
        client.get("/broken")
    assert "not JSON" in str(error.value)
    assert client.get("/empty") == (204, None)


def test_socket_not_found(tmp_path):
    path = str(tmp_path / "missing.sock")
    client = ds.DockerClient("unix://" + path)
    with pytest.raises(ds.DockerSocketError) as error:
        client.get("/version")
    assert str(error.value) == "socket %s not found" % path


def test_connection_refused(tmp_path):
    # A socket file nobody listens on (a dead engine leaves one behind).
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    client = ds.DockerClient("unix://" + path)
    with pytest.raises(ds.DockerSocketError) as error:
        client.get("/version")
    assert str(error.value) == "connection refused by socket %s" % path


@pytest.mark.skipif(os.geteuid() == 0, reason="root is never denied a socket")
def test_permission_denied(unix_engine):
    os.chmod(unix_engine, 0)
    client = ds.DockerClient("unix://" + unix_engine)
    with pytest.raises(ds.DockerSocketError) as error:
        client.get("/version")
    assert str(error.value) == "permission denied on socket %s" % unix_engine


def test_permission_denied_reason():
    client = ds.DockerClient("unix:///var/run/docker.sock")
    assert client._reason(PermissionError(13, "Permission denied")) == "permission denied on socket /var/run/docker.sock"


def test_timeout(tmp_path):
    # Accepts the connection, never answers.
    path = str(tmp_path / "silent.sock")
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(path)
    silent.listen(1)
    try:
        client = ds.DockerClient("unix://" + path, timeout=1)
        with pytest.raises(ds.DockerSocketError) as error:
            client.get("/version")
        assert str(error.value) == "no answer from socket %s within 1s" % path
    finally:
        silent.close()


# ------------------------------------------------------------ GET over TCP

def test_get_over_tcp(tcp_engine):
    client = ds.DockerClient("tcp://127.0.0.1:%d" % tcp_engine)
    assert client.get_json("/version")["ApiVersion"] == "1.41"
    client = ds.DockerClient("http://127.0.0.1:%d" % tcp_engine)
    assert json.dumps(client.get_json("/info")["NCPU"]) == "2"


def test_tcp_refused():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    client = ds.DockerClient("tcp://127.0.0.1:%d" % port, timeout=2)
    with pytest.raises(ds.DockerSocketError) as error:
        client.get("/version")
    assert str(error.value) == "connection refused by 127.0.0.1:%d" % port
