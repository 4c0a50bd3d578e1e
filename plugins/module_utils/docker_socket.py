# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny client for the Docker Engine API, standard library only.

Targets need neither `requests` nor the Docker SDK for the questions
host_facts and speech_info ask (GET /version, /info, /containers/json, image
and container inspects, and the throwaway container speech_info creates to
read a file out of an image: POST create, GET archive, DELETE). The engine
listens on a unix socket (unix:///var/run/docker.sock) or, where an operator
set it up, on plain TCP (tcp://host:2375, http://host:2375). TLS endpoints
are not supported here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import http.client as http_client
import json
import os
import socket
from urllib.parse import urlsplit

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_TCP_PORT = 2375


class DockerSocketError(Exception):
    """The engine did not answer; str(error) is a short reason for the facts."""


def parse_docker_host(docker_host):
    """("unix", path, None) or ("tcp", host, port) for a docker_host URL.

    Raises ValueError with a message naming what is allowed."""
    value = (docker_host or "").strip()
    if value.startswith("unix://"):
        path = value[len("unix://"):]
        if not path.startswith("/"):
            raise ValueError("docker_host %r: a unix socket needs an absolute path, e.g. unix:///var/run/docker.sock" % docker_host)
        return ("unix", path, None)
    if value.startswith("tcp://") or value.startswith("http://"):
        parts = urlsplit(value)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("docker_host %r: give only host and port, e.g. tcp://10.0.0.5:2375" % docker_host)
        try:
            port = parts.port
        except ValueError:
            raise ValueError("docker_host %r: the port is not a number between 1 and 65535" % docker_host)
        if not parts.hostname:
            raise ValueError("docker_host %r: no host name, e.g. tcp://10.0.0.5:2375" % docker_host)
        return ("tcp", parts.hostname, port or DEFAULT_TCP_PORT)
    raise ValueError("docker_host %r: use unix:///path/to/docker.sock, tcp://host:port or http://host:port (TLS is not supported)" % docker_host)


def json_stream(raw):
    """The JSON objects of a stream like the engine's pull answer (objects one after another, with or
    without line ends). Text that is not JSON is returned as {"message": text}."""
    text = (raw or b"").decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    found, index = [], 0
    while index < len(text):
        while index < len(text) and text[index] in " \t\r\n":
            index += 1
        if index >= len(text):
            break
        try:
            item, index = decoder.raw_decode(text, index)
        except ValueError:
            rest = text[index:].strip()
            if rest:
                found.append({"message": rest})
            break
        found.append(item if isinstance(item, dict) else {"message": str(item)})
    return found


def error_message(status, data):
    """The engine's own words for a failed request: its JSON "message", or the HTTP status."""
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"]).strip()
    return "HTTP %s" % status


class UnixHTTPConnection(http_client.HTTPConnection):
    """http.client over an AF_UNIX stream socket."""

    def __init__(self, socket_path, timeout):
        http_client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except Exception:
            sock.close()
            raise
        self.sock = sock


class DockerClient(object):
    """Requests to one engine; each call opens and closes its own connection."""

    def __init__(self, docker_host=DEFAULT_DOCKER_HOST, timeout=5):
        self.docker_host = docker_host
        self.kind, self.address, self.port = parse_docker_host(docker_host)
        self.timeout = timeout

    def where(self):
        if self.kind == "unix":
            return "socket %s" % self.address
        return "%s:%s" % (self.address, self.port)

    def _connection(self):
        if self.kind == "unix":
            if not os.path.exists(self.address):
                raise DockerSocketError("socket %s not found" % self.address)
            return UnixHTTPConnection(self.address, self.timeout)
        return http_client.HTTPConnection(self.address, self.port, timeout=self.timeout)

    def _reason(self, error, timeout=None):
        if isinstance(error, socket.timeout):
            return "no answer from %s within %ss" % (self.where(), timeout or self.timeout)
        number = getattr(error, "errno", None)
        if number in (errno.EACCES, errno.EPERM):
            return "permission denied on %s" % self.where()
        if number == errno.ENOENT:
            return "%s not found" % self.where()
        if number == errno.ECONNREFUSED:
            return "connection refused by %s" % self.where()
        if isinstance(error, socket.gaierror):
            return "cannot resolve %s" % self.address
        return "cannot talk to %s: %s" % (self.where(), error)

    def request(self, method, path, body=None, accept="application/json", headers=None, raw_body=None, timeout=None):
        """(status, raw body bytes) for one request; DockerSocketError when there is no answer.

        body, when given, is sent as JSON; raw_body (bytes or a file object, with its length in
        headers["Content-Length"]) is sent as it is. headers are added to the request (for example
        X-Registry-Auth). timeout overrides the client's for this request (pulls and waits take long)."""
        connection = self._connection()
        if timeout is not None:
            connection.timeout = timeout
        send = {"Accept": accept}
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            send["Content-Type"] = "application/json"
        send.update(headers or {})
        try:
            connection.request(method, path, body=data, headers=send)
            response = connection.getresponse()
            raw = response.read()
            status = response.status
        except (socket.error, OSError, http_client.HTTPException) as error:
            raise DockerSocketError(self._reason(error, connection.timeout))
        finally:
            connection.close()
        return status, raw

    def _decode(self, method, path, status, raw):
        if not raw:
            return status, None
        try:
            return status, json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            if status == 200:
                raise DockerSocketError("%s %s from %s: the answer is not JSON" % (method, path, self.where()))
            return status, None

    def get(self, path):
        """(status, parsed JSON or None) for GET path; DockerSocketError when there is no answer."""
        status, raw = self.request("GET", path)
        return self._decode("GET", path, status, raw)

    def post(self, path, body=None, headers=None, timeout=None):
        """(status, parsed JSON or None) for POST path with a JSON body."""
        status, raw = self.request("POST", path, body=body if body is not None else {}, headers=headers, timeout=timeout)
        return self._decode("POST", path, status, raw)

    def post_stream(self, path, headers=None, raw_body=None, timeout=None):
        """(status, [JSON objects]) for endpoints that answer a stream of JSON objects (pull, load).

        The engine answers such requests 200 at once and reports a failure later, inside the
        stream ({"error": ..., "errorDetail": ...}); the caller reads the objects."""
        status, raw = self.request("POST", path, headers=headers, raw_body=raw_body, timeout=timeout)
        return status, json_stream(raw)

    def delete(self, path):
        """(status, parsed JSON or None) for DELETE path."""
        status, raw = self.request("DELETE", path)
        return self._decode("DELETE", path, status, raw)

    def get_raw(self, path, accept="application/x-tar"):
        """(status, raw body bytes) for GET path, for answers that are not JSON (archives)."""
        return self.request("GET", path, accept=accept)

    def get_json(self, path):
        """The parsed JSON for GET path; DockerSocketError unless the status is 200."""
        status, data = self.get(path)
        if status != 200:
            message = data.get("message") if isinstance(data, dict) else None
            raise DockerSocketError("GET %s from %s: HTTP %s%s" % (path, self.where(), status, (": " + message) if message else ""))
        return data
