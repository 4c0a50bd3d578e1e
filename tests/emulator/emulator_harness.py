"""The harness of the emulator's tests: the emulator and its billing service as subprocesses on
free localhost ports, plain HTTP helpers, a small USP client (standard library only, written
independently of the emulator's own framing code) and test audio."""

import base64
import json
import math
import os
import random
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
EMULATOR = HERE / "speech_emulator"  # the package, run as python3 -m speech_emulator with HERE on PYTHONPATH
# Debian 12's python3 is what the image runs; fall back to the test's own.
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
VALID = "0123456789abcdef0123456789abcdef"
DISCONNECTED = "fedcba9876543210fedcba9876543210"
MISMATCH = "aaaabbbbccccddddeeeeffff00001111"
EXPIRING = "99998888777766665555444433332222"
INVALID = "deadbeefdeadbeefdeadbeefdeadbeef"
ALL_KEYS = (VALID, DISCONNECTED, MISMATCH, EXPIRING, INVALID)
SSML = "<speak version='1.0' xml:lang='en-US'><voice name='%s'>%s</voice></speak>"


_GIVEN = set()


def free_port():
    """A free localhost port never handed out before in this process: two calls in a row could
    otherwise get the same port back from the kernel (the first socket is closed at once), and
    the second service would fail to bind."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


def request(method, url, body=None, headers=None, timeout=10):
    """(status, headers, body bytes) without raising on HTTP errors."""
    if isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(url):
    code, _h, data = request("GET", url)
    return code, json.loads(data.decode())


def wait_for(predicate, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met within %.1f s" % timeout)


class Proc:
    """One emulator process with its output in files."""

    def __init__(self, args, env, workdir, name, as_user=None):
        self.out_path = workdir / (name + ".out")
        self.err_path = workdir / (name + ".err")

        def drop_privileges():
            os.setgid(as_user)
            os.setgroups([])
            os.setuid(as_user)

        preexec = drop_privileges if as_user is not None else None

        env = dict(env, PYTHONPATH=str(HERE), PYTHONDONTWRITEBYTECODE="1")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([PYTHON, "-m", "speech_emulator"] + list(args), env=env, stdout=out, stderr=err, cwd=str(workdir), preexec_fn=preexec)

    def wait(self, timeout=15):
        return self.proc.wait(timeout=timeout)

    @property
    def stdout(self):
        return self.out_path.read_text(errors="replace")

    @property
    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Billing:
    def __init__(self, workdir, extra_args=()):
        self.port, self.admin_port = free_port(), free_port()
        self.keys_file = workdir / "keys.json"
        if not self.keys_file.exists():
            self.keys_file.write_text(
                json.dumps(
                    {
                        "keys": {
                            VALID: {"name": "valid", "mode": "connected"},
                            DISCONNECTED: {"name": "disconnected", "mode": "disconnected"},
                            MISMATCH: {"name": "mismatch", "resource": "CognitiveServices"},
                            EXPIRING: {"name": "expiring", "mode": "disconnected", "license_days": -1},
                        }
                    }
                )
            )
        args = [
            "billing",
            "--keys",
            str(self.keys_file),
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--admin-listen",
            "127.0.0.1",
            "--admin-port",
            str(self.admin_port),
        ] + list(extra_args)
        if "--cert" not in extra_args:
            args.append("--plain-http")
        self.proc = Proc(args, {"PATH": os.environ["PATH"]}, workdir, "billing-%d" % self.port)
        self.scheme = "https" if "--cert" in extra_args else "http"
        self.url = "%s://127.0.0.1:%d/" % (self.scheme, self.port)
        self.admin = "http://127.0.0.1:%d" % self.admin_port
        wait_for(lambda: self.answers() or self.proc.proc.poll() is not None, 30)
        assert self.proc.proc.poll() is None, "billing exited: " + self.proc.stderr

    def answers(self):
        try:
            return request("GET", self.admin + "/admin/health", timeout=1)[0] == 200
        except OSError:
            return False

    def post(self, path, payload=None):
        return request("POST", self.admin + path, json.dumps(payload or {}), {"Content-Type": "application/json"})

    def usage(self):
        return get_json(self.admin + "/admin/usage")[1]


class Speech:
    def __init__(self, proc, port):
        self.proc, self.port = proc, port
        self.base = "http://127.0.0.1:%d" % port

    def get(self, path, **kw):
        return request("GET", self.base + path, **kw)

    def ready(self):
        try:
            return self.get("/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def wait_ready(self, timeout=10):
        wait_for(lambda: self.ready() or self.proc.proc.poll() is not None, timeout)
        assert self.proc.proc.poll() is None, self.proc.stderr
        return self

    def wait_listening(self, timeout=10):
        def listening():
            try:
                self.get("/ready", timeout=2)
                return True
            except OSError:
                return self.proc.proc.poll() is not None

        wait_for(listening, timeout)
        assert self.proc.proc.poll() is None, self.proc.stderr
        return self

    def synth(self, text="ready check", voice="en-US-AriaNeural", fmt="riff-16khz-16bit-mono-pcm", path="/speech/synthesize/cognitiveservices/v1"):
        headers = {"Content-Type": "application/ssml+xml"}
        if fmt:
            headers["X-Microsoft-OutputFormat"] = fmt
        return request("POST", self.base + path, SSML % (voice, text), headers)


class Launcher:
    """launch(kind, *args, env=..., as_user=..., version=..., models_dir=...) -> Speech, with short timings.

    stop_all() stops every process it started and checks that none printed an API key."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.started = []
        self.models = self.workdir / "stt-models"
        self.models.mkdir(exist_ok=True)
        (self.models / "properties.json").write_text('{"locale": "en-US"}')

    def __call__(self, kind, *args, env=None, as_user=None, version=None, models_dir=None):
        port = free_port()
        environ = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "EMULATOR_KIND": kind,
            "EMULATOR_IMAGE_VERSION": version or {"ntts": "4.1.0", "lid": "1.18.0"}.get(kind, "5.1.0"),
            "EMULATOR_IMAGE_TAG": "test",
            "EMULATOR_LOCALE": "en-US",
            "EMULATOR_VOICE": "en-US-AriaNeural",
            "EMULATOR_LISTEN_PORT": str(port),
            "EMULATOR_WARMUP_SECONDS": "0.3",
            "EMULATOR_HEARTBEAT_SECONDS": "0.3",
            "EMULATOR_HEARTBEAT_MAX_FAILURES": "2",
            "EMULATOR_MODEL_DOWNLOAD_SECONDS": "1",
            "EMULATOR_MODELS_DIR": str(models_dir or self.models),
        }
        environ.update(env or {})
        proc = Proc(["serve"] + list(args), environ, self.workdir, "%s-%d" % (kind, port), as_user=as_user)
        self.started.append(proc)
        return Speech(proc, port)

    def stop_all(self):
        for proc in self.started:
            proc.stop()
            text = proc.stdout + proc.stderr
            for key in ALL_KEYS:
                assert key not in text, "the emulator printed an API key"


def connected(billing, key=VALID):
    return ["Eula=accept", "Billing=" + billing.url, "ApiKey=" + key]


def ws_upgrade(port, path, key=None, timeout=5):
    """Send a WebSocket upgrade; return (status line, headers dict, socket)."""
    key = key or base64.b64encode(os.urandom(16)).decode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(
        (
            "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, key)
        ).encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _sep, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, sock, key


def client_close_frame():
    mask = os.urandom(4)
    payload = struct.pack(">H", 1000)
    return bytes([0x88, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


# --------------------------------------------------------------------------
# Test audio (16-bit mono PCM)


def pcm_silence(seconds, rate=16000):
    return b"\0\0" * int(rate * seconds)


def pcm_tone(seconds, rate=16000, frequency=440.0, amplitude=8000):
    return b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * frequency * i / rate))) for i in range(int(rate * seconds)))


def pcm_noise(seconds, rate=16000, amplitude=6000, seed=7):
    rnd = random.Random(seed)
    return b"".join(struct.pack("<h", rnd.randint(-amplitude, amplitude)) for _sample in range(int(rate * seconds)))


def write_wav(path, pcm, rate=16000):
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path


def riff_header(rate=16000, channels=1, bits=16, code=1):
    """The 44-byte header the Speech SDK sends first (sizes 0: a stream)."""
    block = channels * bits // 8
    return b"RIFF\0\0\0\0WAVEfmt " + struct.pack("<IHHIIHH", 16, code, channels, rate, rate * block, block, bits) + b"data\0\0\0\0"


# --------------------------------------------------------------------------
# A USP client (what the Speech SDK does, by hand)


def timestamp():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def text_message(path, request_id=None, body="", content_type="application/json", headers=None):
    lines = ["Path:" + path, "X-Timestamp:" + timestamp()]
    if request_id:
        lines.append("X-RequestId:" + request_id)
    if content_type:
        lines.append("Content-Type:" + content_type)
    lines += ["%s:%s" % item for item in (headers or {}).items()]
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    return "\r\n".join(lines) + "\r\n\r\n" + body


def binary_message(path, request_id, body, content_type=None):
    lines = ["Path:" + path, "X-Timestamp:" + timestamp(), "X-StreamId:1"]
    if request_id:
        lines.append("X-RequestId:" + request_id)
    if content_type:
        lines.append("Content-Type:" + content_type)
    head = "".join(line + "\r\n" for line in lines).encode()
    return struct.pack(">H", len(head)) + head + body


def client_frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Received:
    """A server message: kind "text" / "binary" (path, headers, body) or "close" (code, reason)."""

    def __init__(self, kind, headers=None, body=b"", code=None, reason=""):
        self.kind, self.headers, self.body, self.code, self.reason = kind, headers or {}, body, code, reason

    @property
    def path(self):
        return self.headers.get("path", "")

    @property
    def request_id(self):
        return self.headers.get("x-requestid", "")

    def json(self):
        return json.loads(self.body.decode() or "{}")

    def __repr__(self):
        if self.kind == "close":
            return "<close %s %r>" % (self.code, self.reason)
        return "<%s %s %r>" % (self.kind, self.path, self.body[:120])


def parse_headers(block):
    headers = {}
    for line in block.split("\r\n"):
        if line:
            name, _sep, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return headers


class UspClient:
    """One WebSocket connection speaking USP, as the Speech SDK does."""

    def __init__(self, port, path, timeout=10):
        self.status, self.upgrade_headers, self.sock, _key = ws_upgrade(port, path, timeout=timeout)
        self.buffer = b""
        self.closed = None  # the server's close frame, once received

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def send_raw(self, opcode, payload):
        self.sock.sendall(client_frame(opcode, payload.encode() if isinstance(payload, str) else payload))

    def send_text(self, path, request_id=None, body="", content_type="application/json", headers=None):
        self.send_raw(0x1, text_message(path, request_id, body, content_type, headers))

    def send_binary(self, path, request_id, body, content_type=None):
        self.send_raw(0x2, binary_message(path, request_id, body, content_type))

    def _read(self, n, deadline):
        while len(self.buffer) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed without a close frame")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self, timeout=10):
        """The next message (pongs skipped); socket.timeout when nothing comes."""
        deadline = time.monotonic() + timeout
        while True:
            b0, b1 = self._read(2, deadline)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2, deadline))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8, deadline))[0]
            assert not b1 & 0x80, "server frames must not be masked"
            payload = self._read(n, deadline)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed = Received("close", code=code, reason=payload[2:].decode("utf-8", "replace"))
                return self.closed
            if opcode == 0x1:
                head, _sep, body = payload.decode("utf-8").partition("\r\n\r\n")
                return Received("text", parse_headers(head), body.encode())
            if opcode == 0x2:
                size = struct.unpack(">H", payload[:2])[0]
                return Received("binary", parse_headers(payload[2:2 + size].decode("ascii")), payload[2 + size:])

    def until(self, path="turn.end", timeout=10):
        """Messages up to and including the first with this path (or a close)."""
        got = []
        while True:
            message = self.receive(timeout)
            got.append(message)
            if message.kind == "close" or message.path == path:
                return got

    def config(self):
        self.send_text("speech.config", None, {"context": {"system": {"version": "1.53.0"}, "audio": {"source": {"samplerate": "16000"}}}})

    def recognize(self, pcm, context=None, request_id=None, chunk=3200, header=None, timeout=10):
        """One recognition turn: speech.context, the RIFF header, the audio, end of audio; the answers up to turn.end."""
        request_id = request_id or uuid.uuid4().hex
        self.send_text("speech.context", request_id, context if context is not None else {"phraseDetection": {"language": "en-US"}})
        self.send_binary("audio", request_id, riff_header() if header is None else header, "audio/x-wav")
        for i in range(0, len(pcm), chunk):
            self.send_binary("audio", request_id, pcm[i:i + chunk])
        self.send_binary("audio", request_id, b"")
        return self.until("turn.end", timeout)

    def synthesize(self, ssml, output_format="raw-16khz-16bit-mono-pcm", request_id=None, timeout=10):
        request_id = request_id or uuid.uuid4().hex
        context = {"synthesis": {"audio": {"outputFormat": output_format, "metadataOptions": {"sessionEndEnabled": True}}}}
        self.send_text("synthesis.context", request_id, context)
        self.send_text("ssml", request_id, ssml, "application/ssml+xml")
        return self.until("turn.end", timeout)
