"""Unit tests of the speech container emulator: it runs as subprocesses on free
localhost ports, with a billing instance over plain HTTP (and one over HTTPS
with a throwaway CA), exactly as the image runs it but with short timings."""

import base64
import datetime
import hashlib
import io
import json
import os
import select
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import types
import wave
from pathlib import Path

import pytest

import speech_emulator as emu
from emulator_harness import (
    DISCONNECTED,
    EXPIRING,
    INVALID,
    MISMATCH,
    PYTHON,
    VALID,
    Billing,
    UspClient,
    client_close_frame,
    connected,
    free_port,
    get_json,
    pcm_silence,
    pcm_tone,
    request,
    wait_for,
    ws_upgrade,
)


# --------------------------------------------------------------------------
# Settings


def test_settings_are_case_insensitive_and_arguments_win_over_environment():
    s = emu.Settings(
        ["eula=accept", "Mounts:Output=/out-arg", "--ModelId=abc", "--Logging:Console:LogLevel:Default", "Debug"],
        {"EULA": "reject", "Mounts__Output": "/out-env", "Mounts__License": "/lic", "billing": "https://x/"},
    )
    assert s.get("Eula") == "accept"
    assert s.get("mounts:output") == "/out-arg"
    assert s.get("MOUNTS:LICENSE") == "/lic"
    assert s.get("Billing") == "https://x/"
    assert s.get("modelid") == "abc"
    assert s.get("Logging:Console:LogLevel:Default") == "Debug"


def test_settings_refuse_a_bare_argument_without_echoing_it():
    with pytest.raises(emu.StartupError) as err:
        emu.Settings(["Eula=accept", VALID], {})
    assert VALID not in str(err.value)


@pytest.mark.parametrize(
    "uri,origin",
    [
        ("https://speechdemo.cognitiveservices.azure.com/", "https://speechdemo.cognitiveservices.azure.com"),
        ("https://eastus.api.cognitive.microsoft.com/sts/v1.0", "https://eastus.api.cognitive.microsoft.com"),
        ("http://127.0.0.1:8443", "http://127.0.0.1:8443"),
        ("speechdemo.cognitiveservices.azure.com", None),
        ("ftp://x/", None),
        ("https:///nohost", None),
        ("https://bad host/", None),
    ],
)
def test_billing_uri_forms(uri, origin):
    assert emu.billing_origin(uri) == origin


def test_no_proxy_matching():
    proxy = emu.Proxy(emu.Settings([], {"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "127.0.0.1,.corp.example,10.0.0.0/8"}))
    assert proxy.for_url("http", "localhost") is not None
    assert proxy.for_url("http", "127.0.0.1") is None
    assert proxy.for_url("https", "a.corp.example") is None
    assert proxy.for_url("https", "10.1.2.3") is None
    assert proxy.for_url("https", "speechdemo.cognitiveservices.azure.com")["port"] == 3128
    assert emu.Proxy(emu.Settings([], {"HTTP_PROXY": "proxy:3128", "NO_PROXY": "*"})).for_url("http", "localhost") is None


def test_license_signature_detects_edits():
    doc = emu.sign_license({"containerType": "stt", "containerVersion": "5.1.0", "expiresAt": "2999-01-01T00:00:00Z"})
    assert emu.verify_license(json.loads(json.dumps(doc)))["containerType"] == "stt"
    doc["license"]["containerType"] = "ntts"
    with pytest.raises(ValueError):
        emu.verify_license(doc)


def test_wav_is_valid_and_grows_with_text():
    short = wave.open(io.BytesIO(emu.make_wav(16000, 5)))
    longer = wave.open(io.BytesIO(emu.make_wav(16000, 50)))
    assert (short.getnchannels(), short.getsampwidth(), short.getframerate()) == (1, 2, 16000)
    assert longer.getnframes() > short.getnframes() > 0


# --------------------------------------------------------------------------
# Refusals at start


@pytest.mark.parametrize(
    "args,needle",
    [
        ([], "Eula=accept"),
        (["Eula=accept"], "Billing and ApiKey"),
        (["Eula=accept", "Billing=https://speechdemo.cognitiveservices.azure.com/"], "ApiKey"),
        (["Eula=accept", "ApiKey=" + VALID], "Billing"),
        (["Eula=no", "Billing=https://x.cognitiveservices.azure.com/", "ApiKey=" + VALID], "Eula=accept"),
        (["Eula=accept", "Billing=speechdemo.cognitiveservices.azure.com", "ApiKey=" + VALID], "Invalid Billing Endpoint URI."),
        (["Eula=accept", "Billing=https://x.cognitiveservices.azure.com/", "ApiKey=" + VALID, "Logging:Disk:Format=json"], "Mounts:Output"),
        (["Eula=accept", "Billing=https://x.cognitiveservices.azure.com/", "ApiKey=" + VALID, "Logging:Disk:Format=text", "Mounts:Output=/tmp"], "json"),
        (["Eula=accept", "Billing=https://x.cognitiveservices.azure.com/", "ApiKey=" + VALID, "DECODER_MAX_COUNT=many"], "DECODER_MAX_COUNT"),
    ],
)
def test_refuses_to_start(launch, args, needle):
    speech = launch("stt", *args)
    assert speech.proc.wait() != 0
    assert needle in speech.proc.stderr


def test_settings_from_environment_start_the_container(launch, billing):
    speech = launch("ntts", env={"Eula": "accept", "Billing": billing.url, "ApiKey": VALID})
    speech.wait_ready()


def test_stt_without_model_configuration_exits(launch, tmp_path):
    empty = tmp_path / "empty-volume"
    empty.mkdir()
    speech = launch("stt", "Eula=accept", "Billing=https://x.cognitiveservices.azure.com/", "ApiKey=" + VALID, models_dir=empty)
    assert speech.proc.wait() != 0
    assert "Model configuration %s/properties.json not found" % empty in speech.proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the emulator as uid 65532")
def test_output_mount_not_writable_by_nonroot(launch, billing):
    # pytest's own temporary directories are private to root: use a world-traversable one.
    top = Path(tempfile.mkdtemp(prefix="emulator-mount-"))
    try:
        os.chmod(top, 0o755)
        out = top / "root-owned-output"
        out.mkdir(mode=0o755)
        speech = launch("ntts", *connected(billing), "Mounts:Output=%s" % out, as_user=65532)
        assert speech.proc.wait() != 0
        assert "Permission denied" in speech.proc.stderr and "uid 65532" in speech.proc.stderr
        os.chown(out, 65532, 65532)
        speech = launch("ntts", *connected(billing), "Mounts:Output=%s" % out, "Logging:Disk:Format=json", as_user=65532)
        speech.wait_ready()
        assert list((out / "logs").glob("*.json"))
    finally:
        shutil.rmtree(top)


# --------------------------------------------------------------------------
# Endpoints


@pytest.mark.parametrize("kind,service", [("stt", "speechtotext"), ("lid", "languagedetection"), ("ntts", "neuraltexttospeechonprem")])
def test_ready_goes_from_503_to_200(launch, billing, kind, service):
    speech = launch(kind, *connected(billing), env={"EMULATOR_WARMUP_SECONDS": "1.5"}).wait_listening()
    code, body = get_json(speech.base + "/ready")
    assert code == 503 and body["ready"] == "notready" and body["service"] == service
    speech.wait_ready()
    code, body = get_json(speech.base + "/ready")
    assert code == 200 and body == {"service": service, "ready": "ready", "message": "Api Key is valid, no action needed."}


def test_warmup_never_stays_not_ready(launch, billing):
    speech = launch("ntts", *connected(billing), env={"EMULATOR_WARMUP_SECONDS": "never"}).wait_listening()
    time.sleep(1)
    assert get_json(speech.base + "/ready")[0] == 503
    assert get_json(speech.base + "/status")[0] == 200
    assert speech.synth()[0] == 503


def test_home_and_swagger_pages(launch, billing):
    speech = launch("stt", *connected(billing), env={"DECODER_MAX_COUNT": "3"}).wait_ready()
    code, headers, body = speech.get("/")
    assert code == 200 and headers["Content-Type"].startswith("text/html")
    assert b"DECODER_MAX_COUNT" in body and b"<td>3</td>" in body and b"Emulator test knobs" in body
    code, headers, body = speech.get("/swagger")
    assert code == 200 and b"/speech/recognition/conversation/cognitiveservices/v1" in body
    assert "at most 3 concurrent recognitions" in speech.proc.stdout


@pytest.mark.parametrize("key,code,status", [(VALID, 200, "Valid"), (INVALID, 401, "Invalid"), (MISMATCH, 403, "Mismatch")])
def test_status_reflects_the_key(launch, billing, key, code, status):
    speech = launch("ntts", *connected(billing, key)).wait_listening()
    got, body = get_json(speech.base + "/status")
    assert (got, body["apiStatus"], body["service"]) == (code, status, "neuraltexttospeechonprem")
    assert body["apiStatusMessage"]


def test_status_could_not_connect_when_billing_is_down_or_stopped(launch, billing):
    speech = launch("ntts", *connected(billing)).wait_ready()
    billing.post("/admin/down")
    code, body = get_json(speech.base + "/status")
    assert (code, body["apiStatus"]) == (503, "CouldNotConnect")
    billing.post("/admin/up")
    assert get_json(speech.base + "/status")[0] == 200
    billing.proc.stop()
    assert get_json(speech.base + "/status")[1]["apiStatus"] == "CouldNotConnect"


def test_billing_down_for_one_endpoint_name_only(launch, billing):
    """Scenarios that run side by side share billing: one takes billing down for its endpoint name alone."""
    speech = launch("ntts", *connected(billing)).wait_ready()
    billing.post("/admin/down", {"host": "faults.cognitiveservices.azure.com"})
    assert get_json(speech.base + "/status")[0] == 200
    billing.post("/admin/down", {"host": "127.0.0.1"})
    assert get_json(speech.base + "/status")[1]["apiStatus"] == "CouldNotConnect"
    billing.post("/admin/up", {"host": "127.0.0.1"})
    assert get_json(speech.base + "/status")[0] == 200


def test_invalid_key_refuses_queries(launch, billing):
    speech = launch("ntts", *connected(billing, INVALID)).wait_ready()
    wait_for(lambda: speech.synth()[0] == 401)
    assert get_json(speech.base + "/ready")[0] == 200


def test_heartbeat_blocks_and_restores_queries_and_counts_usage(launch, billing):
    speech = launch("ntts", *connected(billing)).wait_ready()
    assert speech.synth("hello world")[0] == 200
    wait_for(lambda: billing.usage()["usage"].get("valid", {}).get("meters", {}).get("NeuralTextToSpeech.Characters", 0) >= 11)
    billing.post("/admin/down")
    wait_for(lambda: speech.synth()[0] == 503, timeout=5)
    code, _h, body = speech.synth()
    assert b"billing" in body
    assert get_json(speech.base + "/ready")[0] == 200
    assert get_json(speech.base + "/status")[1]["apiStatus"] == "CouldNotConnect"
    billing.post("/admin/up")
    wait_for(lambda: speech.synth()[0] == 200, timeout=5)
    assert "serving queries again" in speech.proc.stdout
    reports = billing.usage()["usage"]["valid"]["reports"]
    assert reports >= 3


def test_ntts_synthesis_formats_and_lengths(launch, billing):
    speech = launch("ntts", *connected(billing)).wait_ready()
    for fmt, rate in (
        ("riff-8khz-16bit-mono-pcm", 8000),
        ("riff-16khz-16bit-mono-pcm", 16000),
        ("riff-24khz-16bit-mono-pcm", 24000),
        ("RIFF-48KHZ-16BIT-MONO-PCM", 48000),
    ):
        code, headers, body = speech.synth(fmt=fmt)
        assert code == 200 and headers["Content-Type"] == "audio/wav" and body[:4] == b"RIFF"
        assert wave.open(io.BytesIO(body)).getframerate() == rate
    short = speech.synth("hi")[2]
    longer = speech.synth("a much longer sentence to speak out loud")[2]
    assert len(longer) > len(short) > 44
    code, _h, body = speech.synth(path="/cognitiveservices/v1", voice="EN-us-ARIANEURAL")
    assert code == 200 and body[:4] == b"RIFF"


def test_ntts_rejects_other_voice_and_unknown_format(launch, billing):
    speech = launch("ntts", *connected(billing)).wait_ready()
    code, _h, body = speech.synth(voice="de-DE-KatjaNeural")
    assert code == 400 and b"Voice does not match" in body
    assert speech.synth(fmt="mp3-wrong-format")[0] == 400
    assert request("POST", speech.base + "/cognitiveservices/v1", "not ssml")[0] == 400


def test_ntts_voices_list(launch, billing):
    speech = launch("ntts", *connected(billing)).wait_ready()
    code, body = get_json(speech.base + "/cognitiveservices/voices/list")
    assert code == 200 and [v["ShortName"] for v in body] == ["en-US-AriaNeural"]


@pytest.mark.parametrize("mode", ["interactive", "conversation", "dictation"])
def test_stt_websocket_upgrade(launch, billing, mode):
    speech = launch("stt", *connected(billing)).wait_ready()
    path = "/speech/recognition/%s/cognitiveservices/v1?language=en-US" % mode
    status, headers, sock, key = ws_upgrade(speech.port, path)
    with sock:
        assert status.startswith("HTTP/1.1 101")
        expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        assert headers["sec-websocket-accept"] == expected
        sock.sendall(client_close_frame())
        reply = sock.recv(16)
        assert reply[0] == 0x88
    code, _h, _b = request("POST", speech.base + path, b"RIFF....", {"Content-Type": "audio/wav"})
    assert code == 404


def test_custom_stt_websocket_and_lid_port_and_path(launch, billing, tmp_path):
    models = tmp_path / "cstt"
    models.mkdir()
    speech = launch("custom_stt", *connected(billing), "ModelId=abc-123", models_dir=models).wait_ready()
    assert ws_upgrade(speech.port, "/speech/recognition/conversation/cognitiveservices/v1")[0].startswith("HTTP/1.1 101")
    lid = launch("lid", *connected(billing)).wait_ready()
    assert ws_upgrade(lid.port, "/speech/languagedetection/cognitiveservices/v1")[0].startswith("HTTP/1.1 101")
    assert " 404 " in ws_upgrade(lid.port, "/speech/recognition/conversation/cognitiveservices/v1")[0] + " "
    assert request("POST", lid.base + "/speech/languagedetection/cognitiveservices/v1", b"x")[0] == 404


def test_package_runs_as_a_module_with_help():
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(Path(__file__).resolve().parent), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([PYTHON, "-m", "speech_emulator", "--help"], env=env, capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0 and "python3 -m speech_emulator serve" in done.stdout
    done = subprocess.run([PYTHON, "-m", "speech_emulator", "billing", "--help"], env=env, capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0 and "--keys" in done.stdout


def test_lid_listens_on_5003_by_default():
    assert emu.KINDS["lid"]["port"] == 5003 and emu.KINDS["stt"]["port"] == 5000


def test_decoder_max_count_caps_concurrent_recognitions(launch, billing):
    speech = launch("stt", *connected(billing), env={"DECODER_MAX_COUNT": "1"}).wait_ready()
    path = "/speech/recognition/interactive/cognitiveservices/v1"
    first = ws_upgrade(speech.port, path)
    with first[2]:
        assert first[0].startswith("HTTP/1.1 101")
        second = ws_upgrade(speech.port, path)
        second[2].close()
        assert " 503 " in second[0] + " "
        first[2].sendall(client_close_frame())
        first[2].recv(16)
    wait_for(lambda: ws_upgrade(speech.port, path)[0].startswith("HTTP/1.1 101"), timeout=5)


def test_sigterm_exits_zero(launch, billing):
    speech = launch("ntts", *connected(billing)).wait_ready()
    speech.proc.proc.terminate()
    assert speech.proc.wait() == 0


# --------------------------------------------------------------------------
# Logging


def test_json_disk_logs_under_output(launch, billing, tmp_path):
    out = tmp_path / "output"
    speech = launch("ntts", *connected(billing), "Mounts:Output=%s" % out, "Logging:Disk:Format=json").wait_ready()
    speech.synth()
    files = list((out / "logs").glob("*.json"))
    assert files
    lines = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert any("Now listening" in line["Message"] for line in lines)
    assert all(VALID not in line["Message"] for line in lines)


def test_console_log_level_debug_shows_probe_requests(launch, billing):
    quiet = launch("ntts", *connected(billing)).wait_ready()
    loud = launch("ntts", *connected(billing), "Logging:Console:LogLevel:Default=Debug").wait_ready()
    assert "GET /ready" not in quiet.proc.stdout
    assert "GET /ready" in loud.proc.stdout


# --------------------------------------------------------------------------
# Proxy


class ForwardProxy(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A small HTTP forward proxy (absolute-URI requests and CONNECT) that records what it saw."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.seen = []
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class ProxyHandler(socketserver.StreamRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        header, _sep, rest = head.partition(b"\r\n\r\n")
        lines = header.decode().split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _s, v in (line.partition(":") for line in lines[1:])}
        self.server.seen.append((method, target, headers.get("proxy-authorization")))
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.pipe(upstream)
            return
        url = target.split("://", 1)[1]
        hostport, _s, path = url.partition("/")
        host, _s, port = hostport.partition(":")
        upstream = socket.create_connection((host, int(port or 80)))
        kept = [line for line in lines[1:] if not line.lower().startswith("proxy-")]
        upstream.sendall(("%s /%s HTTP/1.1\r\n" % (method, path) + "\r\n".join(kept) + "\r\n\r\n").encode() + rest)
        self.pipe(upstream)

    def pipe(self, upstream):
        sockets = [self.request, upstream]
        try:
            while True:
                readable, _w, _x = select.select(sockets, [], [], 10)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.request else self.request).sendall(data)
        finally:
            upstream.close()


def test_proxy_without_no_proxy_breaks_queries_like_the_real_ntts(launch, billing):
    proxy = ForwardProxy()
    try:
        proxy_url = "http://127.0.0.1:%d" % proxy.server_address[1]
        speech = launch("ntts", *connected(billing), "HTTP_PROXY=" + proxy_url, "HTTP_PROXY_CREDS=user:s3cretpass").wait_ready()
        assert get_json(speech.base + "/status")[0] == 200
        code, _h, body = speech.synth()
        assert code == 500 and b"Error starting gRPC call" in body
        assert any(method == "POST" and "/containers/v1/status" in target for method, target, _a in proxy.seen)
        auth = [a for _m, _t, a in proxy.seen if a]
        assert auth and base64.b64decode(auth[0].split()[1]) == b"user:s3cretpass"
        assert "s3cretpass" not in speech.proc.stdout + speech.proc.stderr
        fixed = launch("ntts", *connected(billing), "HTTP_PROXY=" + proxy_url, env={"NO_PROXY": "localhost,127.0.0.1"}).wait_ready()
        assert fixed.synth()[0] == 200
        stt = launch("stt", *connected(billing), env={"HTTP_PROXY": proxy_url}).wait_ready()
        assert " 500 " in ws_upgrade(stt.port, "/speech/recognition/conversation/cognitiveservices/v1")[0] + " "
    finally:
        proxy.shutdown()


def test_unreachable_proxy_means_could_not_connect(launch, billing):
    speech = launch("ntts", *connected(billing), "HTTP_PROXY=http://127.0.0.1:%d" % free_port()).wait_ready()
    assert get_json(speech.base + "/status")[1]["apiStatus"] == "CouldNotConnect"


# --------------------------------------------------------------------------
# HTTPS billing against a throwaway CA (the image trusts the test CA the same way)


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")

    def run(*args):
        subprocess.run(args, cwd=d, check=True, capture_output=True)

    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=emulator test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run(
        "openssl",
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    return d


def test_https_billing_verifies_against_the_trusted_ca(launch, tmp_path, tls_material):
    secure = Billing(tmp_path, ["--cert", str(tls_material / "server.crt"), "--key", str(tls_material / "server.key")])
    try:
        url = "https://localhost:%d/" % secure.port
        trusted = launch("ntts", "Eula=accept", "Billing=" + url, "ApiKey=" + VALID, env={"SSL_CERT_FILE": str(tls_material / "ca.crt")}).wait_ready()
        assert get_json(trusted.base + "/status") == (
            200,
            {"service": "neuraltexttospeechonprem", "apiStatus": "Valid", "apiStatusMessage": "Api Key is valid, no action needed."},
        )
        untrusted = launch("ntts", "Eula=accept", "Billing=" + url, "ApiKey=" + VALID, env={"SSL_CERT_FILE": "/nonexistent"}).wait_ready()
        assert get_json(untrusted.base + "/status")[1]["apiStatus"] == "CouldNotConnect"
        proxy = ForwardProxy()
        try:
            via = launch(
                "ntts",
                "Eula=accept",
                "Billing=" + url,
                "ApiKey=" + VALID,
                env={"SSL_CERT_FILE": str(tls_material / "ca.crt"), "HTTP_PROXY": "http://127.0.0.1:%d" % proxy.server_address[1]},
            )
            via.wait_listening()
            assert get_json(via.base + "/status")[1]["apiStatus"] == "Valid"
            assert ("CONNECT", "localhost:%d" % secure.port) in [(m, t) for m, t, _a in proxy.seen]
        finally:
            proxy.shutdown()
    finally:
        secure.proc.stop()


# --------------------------------------------------------------------------
# Disconnected containers


def download_license(launch, billing, kind, license_dir, key=DISCONNECTED, version=None, models_dir=None):
    speech = launch(
        kind,
        "eula=accept",
        "billing=" + billing.url,
        "apikey=" + key,
        "DownloadLicense=True",
        "Mounts:License=%s" % license_dir,
        version=version,
        models_dir=models_dir,
    )
    return speech.proc.wait(), speech.proc


def test_download_license_then_run_disconnected_with_usage_records(launch, billing, tmp_path):
    lic, out = tmp_path / "license", tmp_path / "output"
    lic.mkdir()
    rc, proc = download_license(launch, billing, "ntts", lic)
    assert rc == 0, proc.stderr
    assert (lic / "license.json").is_file()
    speech = launch("ntts", "eula=accept", "Mounts:License=%s" % lic, "Mounts:Output=%s" % out).wait_ready()
    code, body = get_json(speech.base + "/status")
    assert code == 200 and body["apiStatus"] == "Valid" and "disconnected" in body["apiStatusMessage"]
    assert speech.synth("twelve chars")[0] == 200
    assert speech.synth("abc")[0] == 200
    code, body = get_json(speech.base + "/records/usage-logs/")
    assert code == 200
    assert body == {
        "type": "CommerceUsageResponse",
        "apiType": "speech",
        "serviceName": "neuraltexttospeechonprem",
        "meters": [{"name": "NeuralTextToSpeech.Characters", "quantity": 15, "billedUnit": "Characters"}],
    }
    now = datetime.datetime.now(datetime.timezone.utc)
    assert get_json(speech.base + "/records/usage-logs/%02d/%d" % (now.month, now.year))[1]["meters"][0]["quantity"] == 15
    assert get_json(speech.base + "/records/usage-logs/%02d/%d" % (now.month, now.year - 1))[1]["meters"][0]["quantity"] == 0
    assert get_json(speech.base + "/records/usage-logs/13/2024")[0] == 400
    records = list((out / "usage").glob("*.jsonl"))
    assert len(records) == 1 and len(records[0].read_text().splitlines()) == 2


def test_environment_names_for_kubernetes(launch, billing, tmp_path):
    lic, out = tmp_path / "license", tmp_path / "output"
    lic.mkdir()
    assert download_license(launch, billing, "stt", lic)[0] == 0
    launch("stt", env={"Eula": "accept", "Mounts__License": str(lic), "Mounts__Output": str(out)}).wait_ready()


def test_connected_key_cannot_download_a_license(launch, billing, tmp_path):
    lic = tmp_path / "license"
    lic.mkdir()
    rc, proc = download_license(launch, billing, "stt", lic, key=VALID)
    assert rc != 0 and "not approved for disconnected" in proc.stderr
    assert not (lic / "license.json").exists()


def test_missing_license_path(launch, billing, tmp_path):
    rc, proc = download_license(launch, billing, "stt", tmp_path / "not-mounted")
    assert rc != 0 and "The provided license path was not found" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    speech = launch("stt", "eula=accept", "Mounts:License=%s" % empty, "Mounts:Output=%s" % (tmp_path / "out"))
    assert speech.proc.wait() != 0
    assert (
        "The provided license path was not found. Please ensure a volume is mounted and a directory exists at the location " "specified by Mounts:License"
    ) in speech.proc.stderr


def test_disconnected_needs_output_mount(launch, billing, tmp_path):
    lic = tmp_path / "license"
    lic.mkdir()
    assert download_license(launch, billing, "stt", lic)[0] == 0
    speech = launch("stt", "eula=accept", "Mounts:License=%s" % lic)
    assert speech.proc.wait() != 0 and "Mounts:Output" in speech.proc.stderr


@pytest.mark.parametrize("problem", ["kind", "version", "expired", "edited"])
def test_bad_licenses_are_rejected(launch, billing, tmp_path, problem):
    lic, out = tmp_path / "license", tmp_path / "output"
    lic.mkdir()
    key = EXPIRING if problem == "expired" else DISCONNECTED
    assert download_license(launch, billing, "stt", lic, key=key)[0] == 0
    if problem == "edited":
        doc = json.loads((lic / "license.json").read_text())
        doc["license"]["expiresAt"] = "2999-01-01T00:00:00Z"
        (lic / "license.json").write_text(json.dumps(doc))
    kind = "ntts" if problem == "kind" else "stt"
    version = "5.2.0" if problem == "version" else None
    speech = launch(kind, "eula=accept", "Mounts:License=%s" % lic, "Mounts:Output=%s" % out, version=version)
    assert speech.proc.wait() != 0
    expected = {"kind": "issued for container type 'stt'", "version": "image version 5.1.0", "expired": "expired", "edited": "signature"}[problem]
    assert expected in speech.proc.stderr


def test_lid_cannot_run_disconnected(launch, billing, tmp_path):
    lic = tmp_path / "license"
    lic.mkdir()
    rc, proc = download_license(launch, billing, "lid", lic)
    assert rc != 0 and "not available as a disconnected container" in proc.stderr
    speech = launch("lid", "eula=accept", "Mounts:License=%s" % lic, "Mounts:Output=%s" % (tmp_path / "out"))
    assert speech.proc.wait() != 0 and "disconnected" in speech.proc.stderr


# --------------------------------------------------------------------------
# Custom speech to text models


def test_custom_model_downloads_once_then_is_reused(launch, billing, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    first = launch(
        "custom_stt", *connected(billing), "ModelId=0a1b2c3d-model", env={"EMULATOR_MODEL_DOWNLOAD_SECONDS": "1.5"}, models_dir=models
    ).wait_listening()
    code, body = get_json(first.base + "/ready")
    assert code == 503 and "Downloading model" in body["message"]
    first.wait_ready()
    assert json.loads((models / "properties.json").read_text())["modelId"] == "0a1b2c3d-model"
    first.proc.stop()
    started = time.monotonic()
    second = launch("custom_stt", *connected(billing), "ModelId=other-model", models_dir=models).wait_ready()
    assert time.monotonic() - started < 1.5
    assert "Found model 0a1b2c3d-model" in second.proc.stdout and "ModelId=other-model ignored" in second.proc.stdout


def test_custom_stt_needs_a_model(launch, billing, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    speech = launch("custom_stt", *connected(billing), models_dir=models)
    assert speech.proc.wait() != 0 and "ModelId" in speech.proc.stderr


def test_custom_model_download_needs_a_valid_connected_key(launch, billing, tmp_path):
    for key in (INVALID, DISCONNECTED):
        models = tmp_path / ("models-" + key[:4])
        models.mkdir()
        speech = launch("custom_stt", *connected(billing, key), "ModelId=abc", models_dir=models)
        assert speech.proc.wait() != 0
        assert "Failed to download" in speech.proc.stdout + speech.proc.stderr
        assert not (models / "properties.json").exists()


def test_custom_stt_disconnected_with_its_model(launch, billing, tmp_path):
    models, lic, out = tmp_path / "models", tmp_path / "license", tmp_path / "output"
    models.mkdir()
    lic.mkdir()
    first = launch("custom_stt", *connected(billing), "ModelId=m1", models_dir=models).wait_ready()
    first.proc.stop()
    assert download_license(launch, billing, "custom_stt", lic, models_dir=models)[0] == 0
    assert json.loads((lic / "license.json").read_text())["license"]["modelId"] == "m1"
    speech = launch("custom_stt", "eula=accept", "Mounts:License=%s" % lic, "Mounts:Output=%s" % out, models_dir=models).wait_ready()
    with UspClient(speech.port, "/speech/recognition/dictation/cognitiveservices/v1") as client:
        assert client.status.startswith("HTTP/1.1 101")
        assert get_json(speech.base + "/records/usage-logs/")[1]["meters"][0]["quantity"] == 0, "a connection alone is not metered"
        client.config()
        answers = client.recognize(pcm_silence(0.2) + pcm_tone(0.6) + pcm_silence(0.6))
        assert [m.path for m in answers if m.path == "speech.phrase"] == ["speech.phrase"]
    wait_for(lambda: get_json(speech.base + "/records/usage-logs/")[1]["meters"][0]["quantity"] == 1)


# --------------------------------------------------------------------------
# The diagnostic container


def diagnostic(launch, *args, env=None):
    speech = launch("diagnostic", *args, env=env)
    return speech.proc.wait(), speech.proc.stdout


def test_diagnostic_passes_with_a_valid_key(launch, billing):
    rc, out = diagnostic(launch, "eula=accept", "Billing=" + billing.url, "ApiKey=" + VALID)
    assert rc == 0, out
    assert "[PASS] Billing endpoint URI is valid" in out and "[PASS] DNS" in out and "[PASS] API key accepted" in out
    assert VALID not in out


def test_diagnostic_fails_on_a_bad_key_a_bad_uri_and_no_dns(launch, billing):
    rc, out = diagnostic(launch, "eula=accept", "Billing=" + billing.url, "ApiKey=" + INVALID)
    assert rc == 1 and "status Invalid" in out and INVALID not in out
    rc, out = diagnostic(launch, "eula=accept", "Billing=not a uri", "ApiKey=" + VALID)
    assert rc == 1 and "Invalid Billing Endpoint URI." in out
    rc, out = diagnostic(launch, "eula=accept", "Billing=https://nowhere.invalid/", "ApiKey=" + VALID)
    assert rc == 1 and "[FAIL] DNS" in out
    billing.post("/admin/down")
    rc, out = diagnostic(launch, "eula=accept", "Billing=" + billing.url, "ApiKey=" + VALID)
    assert rc == 1


# --------------------------------------------------------------------------
# The billing service's admin side


def test_billing_admin_adds_keys_and_reports_usage(launch, billing):
    new_key = "1234" * 8
    assert billing.post("/admin/keys", {"key": new_key, "name": "added", "mode": "connected"})[0] == 200
    assert "added" in [k["name"] for k in get_json(billing.admin + "/admin/keys")[1]["keys"]]
    assert new_key not in json.dumps(get_json(billing.admin + "/admin/keys")[1])
    speech = launch("stt", *connected(billing, new_key)).wait_ready()
    assert get_json(speech.base + "/status")[0] == 200
    wait_for(lambda: billing.usage()["usage"].get("added", {}).get("reports", 0) >= 1)
    assert new_key in json.loads(billing.keys_file.read_text())["keys"]
    speech.proc.stop()
    assert new_key not in speech.proc.stdout


def test_the_client_context_is_made_again_only_when_the_ca_store_changes(tmp_path, monkeypatch):
    """An idle container's heartbeat reuses its TLS context; a CA added to the store is trusted on the next request."""
    from speech_emulator import network

    bundle = tmp_path / "ca-certificates.crt"
    bundle.write_text("one")
    made = []
    paths = types.SimpleNamespace(cafile=str(bundle), capath=str(tmp_path))
    monkeypatch.setattr(network.ssl, "get_default_verify_paths", lambda: paths)
    monkeypatch.setattr(network.ssl, "create_default_context", lambda: made.append(1) or object())
    monkeypatch.setattr(network, "_CONTEXTS", {})
    first = network.client_context()
    assert network.client_context() is first and len(made) == 1
    os.utime(bundle, ns=(1, 1))
    assert network.client_context() is not first and len(made) == 2
