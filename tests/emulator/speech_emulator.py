"""An emulator of the Azure AI Speech containers, for tests. NOT Microsoft's software.

    speech_emulator.py serve [Key=Value ...]     the speech container (the image's entrypoint)
    speech_emulator.py billing [options]         the billing service the containers report to

It honours the documented outside contract of the speech containers (arguments,
endpoints, ports, billing, disconnected licences, usage records) so the
collection's roles can be tested without Microsoft's images or Azure. What it
implements, and the document each behaviour comes from, is in README.md next
to this file. Python 3 standard library only: it runs with Debian 12's python3.

Identity (image ENV, one image per kind and tag): EMULATOR_KIND (stt |
custom_stt | lid | ntts | diagnostic), EMULATOR_IMAGE_VERSION, EMULATOR_IMAGE_TAG,
EMULATOR_LOCALE, EMULATOR_VOICE. Test knobs (image ENV): EMULATOR_WARMUP_SECONDS
(2; `never`), EMULATOR_HEARTBEAT_SECONDS (5), EMULATOR_HEARTBEAT_MAX_FAILURES (3),
EMULATOR_MODEL_DOWNLOAD_SECONDS (3). Unit-test knobs only: EMULATOR_LISTEN_PORT,
EMULATOR_MODELS_DIR.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import html
import http.client
import http.server
import ipaddress
import json
import math
import os
import re
import signal
import socket
import socketserver
import ssl
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

# Shared by the billing service (which signs licences) and the speech side
# (which verifies them); nothing else knows it, so a hand-edited licence fails.
LICENSE_SECRET = b"onprem.speech emulator licence key: 7d1c0f6a-4e1b-4c4e-9a57-0b8f6f0e2d31"
LICENSE_FILE = "license.json"
# Microsoft's message, word for word (container FAQ).
LICENSE_NOT_FOUND = (
    "The provided license path was not found. Please ensure a volume is mounted and a directory exists at the location specified by Mounts:License"
)
MODELS_DIR = "/usr/local/models"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VALID_MESSAGE = "Api Key is valid, no action needed."

KINDS = {
    "stt": {
        "service": "speechtotext",
        "port": 5000,
        "title": "Speech to text",
        "meter": "SpeechToText.Sessions",
        "unit": "Sessions",
        "disconnected": True,
        "ws_paths": "recognition",
    },
    "custom_stt": {
        "service": "customspeechtotext",
        "port": 5000,
        "title": "Custom speech to text",
        "meter": "CustomSpeechToText.Sessions",
        "unit": "Sessions",
        "disconnected": True,
        "ws_paths": "recognition",
    },
    "lid": {
        "service": "languagedetection",
        "port": 5003,
        "title": "Speech language identification",
        "meter": "LanguageDetection.Sessions",
        "unit": "Sessions",
        "disconnected": False,
        "ws_paths": "languagedetection",
    },
    "ntts": {
        "service": "neuraltexttospeechonprem",
        "port": 5000,
        "title": "Neural text to speech",
        "meter": "NeuralTextToSpeech.Characters",
        "unit": "Characters",
        "disconnected": True,
        "ws_paths": None,
    },
    "diagnostic": {
        "service": "diagnostic",
        "port": None,
        "title": "Diagnostic container",
        "meter": None,
        "unit": None,
        "disconnected": False,
        "ws_paths": None,
    },
}
RECOGNITION_PATHS = tuple("/speech/recognition/%s/cognitiveservices/v1" % mode for mode in ("interactive", "conversation", "dictation"))
LID_PATH = "/speech/languagedetection/cognitiveservices/v1"
SYNTH_PATHS = ("/speech/synthesize/cognitiveservices/v1", "/cognitiveservices/v1")

# X-Microsoft-OutputFormat values: name -> (sample rate, RIFF header?)
OUTPUT_FORMATS = {}
for _rate, _label in ((8000, "8khz"), (16000, "16khz"), (22050, "22050hz"), (24000, "24khz"), (44100, "44100hz"), (48000, "48khz")):
    OUTPUT_FORMATS["riff-%s-16bit-mono-pcm" % _label] = (_rate, True)
    OUTPUT_FORMATS["raw-%s-16bit-mono-pcm" % _label] = (_rate, False)
DEFAULT_OUTPUT_FORMAT = "riff-16khz-16bit-mono-pcm"

# /status apiStatus -> HTTP status code of /status
STATUS_CODES = {
    "Valid": 200,
    "Invalid": 401,
    "Mismatch": 403,
    "CouldNotConnect": 503,
    "BillingEndpointBusy": 429,
    "OutOfQuota": 403,
    "ContainerUseUnauthorized": 403,
    "Unknown": 500,
}
STATUS_MESSAGES = {
    "Valid": VALID_MESSAGE,
    "Invalid": "The Api Key is invalid. Use a key of the Speech resource whose endpoint is given as Billing.",
    "Mismatch": "The Api Key belongs to a resource of another kind; the speech containers need a Speech resource.",
    "CouldNotConnect": "Could not connect to the billing endpoint. Check DNS, firewall, proxy and egress on port 443.",
    "BillingEndpointBusy": "The billing endpoint is busy; retry later.",
    "OutOfQuota": "The resource is out of quota.",
    "ContainerUseUnauthorized": "The subscription is not approved to use this container.",
    "Unknown": "The billing endpoint answered with an unknown status.",
}
LOG_LEVELS = {"trace": 0, "debug": 1, "information": 2, "warning": 3, "error": 4, "critical": 5, "none": 6}
LEVEL_NAMES = {0: "trce", 1: "dbug", 2: "info", 3: "warn", 4: "fail", 5: "crit"}
LEVEL_LONG = {0: "Trace", 1: "Debug", 2: "Information", 3: "Warning", 4: "Error", 5: "Critical"}


class StartupError(Exception):
    """A reason the container refuses to start (printed on stderr, non-zero exit)."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_seconds(value, default):
    if value is None or str(value).strip() == "":
        return float(default)
    if str(value).strip().lower() == "never":
        return math.inf
    return float(value)


# --------------------------------------------------------------------------
# Settings in the ASP.NET Core style


class Settings:
    """Configuration from the environment (`__` separates sections) and then from
    arguments (`Key=Value`, `Section:Key=Value`, `--Key=Value`, `/Key=Value`,
    `--Key Value`); keys are case-insensitive and arguments win."""

    def __init__(self, argv, environ):
        self.values = {}
        for name, value in environ.items():
            self.values[name.replace("__", ":").lower()] = value
        args = list(argv)
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            stripped = arg[2:] if arg.startswith("--") else arg[1:] if arg.startswith("/") and "=" in arg else arg
            if "=" in stripped:
                key, value = stripped.split("=", 1)
            elif arg.startswith("--") and i < len(args):
                key, value = stripped, args[i]
                i += 1
            else:
                # Never echo the argument: it could be a key given without its name.
                raise StartupError("Unrecognized command-line argument #%d: settings are given as Key=Value (for example Eula=accept)." % i)
            key = key.strip()
            if not key:
                raise StartupError("Command-line argument #%d has no key before '='." % i)
            self.values[key.replace("__", ":").lower()] = value

    def get(self, key, default=None):
        value = self.values.get(key.lower())
        return default if value is None else value

    def has(self, key):
        value = self.values.get(key.lower())
        return value is not None and value.strip() != ""

    def flag(self, key):
        return str(self.get(key, "")).strip().lower() in ("true", "1", "yes")


def billing_origin(uri):
    """scheme://host[:port] of a Billing setting, or None when it is not an absolute http(s) URI."""
    try:
        parts = urllib.parse.urlsplit(uri.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c.isspace() for c in uri.strip()):
            return None
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        return None
    host = parts.hostname
    if ":" in host:
        host = "[%s]" % host
    return "%s://%s%s" % (parts.scheme.lower(), host, ":%d" % port if port else "")


# --------------------------------------------------------------------------
# Outbound HTTP with the container's proxy settings


class Proxy:
    """HTTP_PROXY / HTTPS_PROXY / HTTP_PROXY_CREDS / NO_PROXY from settings (args or environment)."""

    def __init__(self, settings):
        self.http = self._parse(settings.get("HTTP_PROXY"))
        self.https = self._parse(settings.get("HTTPS_PROXY")) or self.http
        creds = settings.get("HTTP_PROXY_CREDS")
        self.creds = creds if creds and creds.strip() else None
        self.no_proxy = [e.strip().lower() for e in (settings.get("NO_PROXY") or "").split(",") if e.strip()]

    @staticmethod
    def _parse(value):
        if value is None or not value.strip():
            return None
        value = value.strip()
        if "://" not in value:
            value = "http://" + value
        parts = urllib.parse.urlsplit(value)
        if not parts.hostname:
            raise StartupError("HTTP_PROXY is not a valid proxy URL.")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise StartupError("HTTP_PROXY has an invalid port.") from exc
        userinfo = None
        if parts.username is not None:
            userinfo = "%s:%s" % (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        return {"host": parts.hostname, "port": port, "userinfo": userinfo}

    def bypassed(self, host):
        host = host.lower().strip("[]")
        for entry in self.no_proxy:
            if entry == "*":
                return True
            if "/" in entry:
                try:
                    if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                        return True
                except ValueError:
                    pass
                continue
            entry = entry.lstrip("*").lstrip(".")
            if entry.split(":")[0] and (host == entry.split(":")[0] or host.endswith("." + entry.split(":")[0])):
                return True
        return False

    def for_url(self, scheme, host):
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or self.bypassed(host):
            return None
        return proxy

    def describe(self):
        if not self.http and not self.https:
            return "not set"
        p = self.https or self.http
        return "http://%s:%d%s (NO_PROXY: %s)" % (
            p["host"],
            p["port"],
            " with credentials" if self.creds or p["userinfo"] else "",
            ",".join(self.no_proxy) or "unset",
        )

    def auth_header(self, proxy):
        userinfo = self.creds or proxy["userinfo"]
        if not userinfo:
            return {}
        return {"Proxy-Authorization": "Basic " + base64.b64encode(userinfo.encode()).decode()}


class OutboundError(Exception):
    """The request never got an HTTP answer (DNS, connect, TLS, reset)."""


def outbound(method, url, proxy_settings, headers=None, body=None, timeout=8.0):
    """One HTTP(S) request honouring the proxy settings; returns (status, headers, body bytes).

    HTTPS verifies the server against the system CA store (OpenSSL's defaults)."""
    parts = urllib.parse.urlsplit(url)
    scheme, host = parts.scheme, parts.hostname
    port = parts.port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = dict(headers or {})
    proxy = proxy_settings.for_url(scheme, host) if proxy_settings else None
    try:
        if scheme == "https":
            context = ssl.create_default_context()
            if proxy:
                conn = http.client.HTTPSConnection(proxy["host"], proxy["port"], timeout=timeout, context=context)
                conn.set_tunnel(host, port, headers=proxy_settings.auth_header(proxy))
            else:
                conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        elif proxy:
            conn = http.client.HTTPConnection(proxy["host"], proxy["port"], timeout=timeout)
            headers.update(proxy_settings.auth_header(proxy))
            path = "http://%s:%d%s" % (host, port, path)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise OutboundError("%s: %s" % (type(exc).__name__, exc)) from exc


# --------------------------------------------------------------------------
# Licences (signed by the billing service, verified by the container)


def sign_license(payload):
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return {"license": payload, "signature": hmac.new(LICENSE_SECRET, blob, hashlib.sha256).hexdigest()}


def verify_license(document):
    """The payload of a licence document, or raise ValueError naming what is wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("license"), dict) or not isinstance(document.get("signature"), str):
        raise ValueError("the license file is not a license")
    expected = sign_license(document["license"])["signature"]
    if not hmac.compare_digest(expected, document["signature"]):
        raise ValueError("the license signature does not match its content (was it edited?)")
    return document["license"]


# --------------------------------------------------------------------------
# Audio and WebSocket helpers


def make_wav(rate, text_length, riff=True):
    """A 16-bit mono tone whose length grows with the text (0.3 s + 60 ms a character, at most 60 s)."""
    seconds = min(0.3 + 0.06 * text_length, 60.0)
    period = max(2, int(round(rate / 400.0)))
    one = b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * i / period))) for i in range(period))
    samples = int(rate * seconds)
    data = one * (samples // period) + one[: 2 * (samples % period)]
    if not riff:
        return data
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", len(data))
    return header + data


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_frame(opcode, payload=b""):
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


def ws_read_frame(rfile):
    """(opcode, payload) of one client frame; None at end of stream."""
    head = rfile.read(2)
    if len(head) < 2:
        return None
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    masked = head[1] & 0x80
    if length == 126:
        length = struct.unpack(">H", rfile.read(2))[0]
    elif length == 127:
        length = struct.unpack(">Q", rfile.read(8))[0]
    if length > 4 * 1024 * 1024:
        raise ValueError("frame too large")
    mask = rfile.read(4) if masked else b"\0\0\0\0"
    payload = bytearray(rfile.read(length))
    for i in range(len(payload)):
        payload[i] ^= mask[i % 4]
    return opcode, bytes(payload)


# --------------------------------------------------------------------------
# HTTP plumbing shared by both modes


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    tls_context = None

    def finish_request(self, request, client_address):
        if self.tls_context is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        try:
            request.settimeout(10)
            tls = self.tls_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Kestrel"
    sys_version = ""
    timeout = 30

    def log_message(self, format, *args):  # noqa: A002  (BaseHTTPRequestHandler's signature)
        pass

    def body(self, limit=2 * 1024 * 1024):
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def reply(self, code, payload, content_type=None, extra=None):
        if isinstance(payload, (dict, list)):
            data = json.dumps(payload).encode()
            content_type = content_type or "application/json; charset=utf-8"
        elif isinstance(payload, str):
            data = payload.encode()
            content_type = content_type or "text/plain; charset=utf-8"
        else:
            data = payload
        self.send_response(code)
        self.send_header("Content-Type", content_type or "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.last_code = code


# --------------------------------------------------------------------------
# The speech container


class Container:
    def __init__(self, argv, environ):
        self.environ = environ
        self.kind = (environ.get("EMULATOR_KIND") or "").strip()
        if self.kind not in KINDS:
            raise StartupError("EMULATOR_KIND must be one of %s (image build error)." % ", ".join(KINDS))
        self.info = KINDS[self.kind]
        self.version = environ.get("EMULATOR_IMAGE_VERSION") or "0.0.0"
        self.tag = environ.get("EMULATOR_IMAGE_TAG") or "latest"
        self.locale = environ.get("EMULATOR_LOCALE") or "en-US"
        self.voice = environ.get("EMULATOR_VOICE") or "en-US-AriaNeural"
        self.models_dir = environ.get("EMULATOR_MODELS_DIR") or MODELS_DIR
        self.container_id = socket.gethostname()
        self.settings = Settings(argv, environ)
        self.secrets = []
        for key in ("ApiKey", "HTTP_PROXY_CREDS"):
            if self.settings.has(key):
                self.secrets.append(self.settings.get(key).strip())
                if ":" in self.secrets[-1]:
                    self.secrets.append(self.secrets[-1].split(":", 1)[1])
        self.lock = threading.Lock()
        self.log_lock = threading.Lock()
        self.stop = threading.Event()
        self.console_level = LOG_LEVELS.get(str(self.settings.get("Logging:Console:LogLevel:Default", "Information")).lower(), 2)
        self.disk_log = None
        self.mode = None
        self.billing = None
        self.api_key = None
        self.license = None
        self.output = None
        self.ready_at = math.inf
        self.not_ready_message = "The container is starting."
        self.downloading = False
        self.block = None  # (code, apiStatus, message) while queries are refused for billing
        self.failures = 0
        self.pending = 0.0
        self.usage_lock = threading.Lock()
        self.decoders = None
        self.decoder_max = 0
        self.nonce = uuid.uuid4().hex
        self.backend_port = None
        self.model = None

    # ---- logging (never the API key)

    def redact(self, text):
        text = str(text)
        for secret in self.secrets:
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def log(self, level, message, category="Microsoft.CloudAI.Containers.Speech"):
        message = self.redact(message)
        if level >= self.console_level and level < 6:
            sys.stdout.write("%s %s: %s[0] %s\n" % (iso(utcnow()), LEVEL_NAMES[level], category, message))
            sys.stdout.flush()
        if self.disk_log is not None and level >= 2:
            line = json.dumps(
                {
                    "Timestamp": iso(utcnow()),
                    "LogLevel": LEVEL_LONG[level],
                    "Category": category,
                    "Message": message,
                    "ContainerId": self.container_id,
                    "Service": self.info["service"],
                }
            )
            with self.log_lock:
                with open(self.disk_log, "a", encoding="utf-8") as fh:
                    fh.write(line + "\n")

    # ---- start-up checks

    def writable_dir(self, path, setting, create=True):
        """Make sure a mount is a directory the container's user can write, or refuse to start."""
        uid = os.geteuid()
        try:
            if create:
                os.makedirs(path, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-", delete=True)
            probe.close()
        except PermissionError as exc:
            raise StartupError(
                "Permission denied: %s=%s is not writable by the container's user (uid %d, gid %d, user nonroot). "
                "Make the host directory owned by %d:%d (chown -R %d:%d <host dir>). (%s)"
                % (setting, path, uid, os.getegid(), uid, os.getegid(), uid, os.getegid(), exc.strerror)
            ) from exc
        except OSError as exc:
            raise StartupError("%s=%s cannot be used: %s" % (setting, path, exc.strerror or exc)) from exc

    def configure(self):
        s = self.settings
        kind = self.kind
        # Proxy settings first: a bad one is a configuration error whatever the mode.
        self.proxy = Proxy(s)
        # Output mount and disk logging.
        if s.has("Mounts:Output"):
            self.output = s.get("Mounts:Output").strip()
        fmt = s.get("Logging:Disk:Format")
        if fmt is not None and fmt.strip():
            if fmt.strip().lower() != "json":
                raise StartupError("Logging:Disk:Format=%s is not supported: the only disk log format is json." % fmt.strip())
            if not self.output:
                raise StartupError("Logging:Disk:Format=json needs an output mount: add Mounts:Output=/output and mount a host directory there.")
        if self.output:
            self.writable_dir(self.output, "Mounts:Output")
            if fmt is not None and fmt.strip():
                logs = os.path.join(self.output, "logs")
                self.writable_dir(logs, "Mounts:Output")
                self.disk_log = os.path.join(logs, "%s-%s-%s.json" % (self.info["service"], self.container_id, utcnow().strftime("%Y%m%d")))
        # The EULA.
        if str(s.get("Eula", "")).strip().lower() != "accept":
            raise StartupError("The end user license agreement was not accepted: add Eula=accept to the arguments (the only value is accept).")
        # Mode.
        billing, key = s.get("Billing"), s.get("ApiKey")
        has_billing, has_key = s.has("Billing"), s.has("ApiKey")
        license_dir = s.get("Mounts:License").strip() if s.has("Mounts:License") else None
        if s.flag("DownloadLicense"):
            self.mode = "download-license"
        elif has_billing or has_key or not license_dir:
            self.mode = "connected"
        else:
            self.mode = "disconnected"
        if self.mode in ("connected", "download-license"):
            missing = [name for name, present in (("Billing", has_billing), ("ApiKey", has_key)) if not present]
            if missing:
                raise StartupError(
                    "Missing required setting%s %s: the container needs Eula=accept, Billing=<endpoint URI> and ApiKey=<key> to start%s."
                    % (
                        "s" if len(missing) > 1 else "",
                        " and ".join(missing),
                        " (or Mounts:License and Mounts:Output to run disconnected with a license)" if self.info["disconnected"] else "",
                    )
                )
            if billing_origin(billing) is None:
                raise StartupError("Invalid Billing Endpoint URI.")
            self.billing = billing_origin(billing)
            self.api_key = key.strip()
        if self.mode in ("download-license", "disconnected") and not self.info["disconnected"]:
            raise StartupError("%s is not available as a disconnected container: it cannot download or use a license." % self.info["title"])
        if self.mode == "download-license":
            if not license_dir:
                raise StartupError("DownloadLicense=True needs Mounts:License=<directory> with a volume mounted there.")
            if not os.path.isdir(license_dir):
                raise StartupError(LICENSE_NOT_FOUND)
            self.writable_dir(license_dir, "Mounts:License", create=False)
            self.license_dir = license_dir
        if self.mode == "disconnected":
            if not self.output:
                raise StartupError("A disconnected container needs Mounts:Output=<directory> (a mounted, writable volume) for its usage records.")
            self.license_dir = license_dir
            self.load_license()
        # Models.
        if kind == "stt" and not os.path.isfile(os.path.join(self.models_dir, "properties.json")):
            raise StartupError("Model configuration %s/properties.json not found" % self.models_dir.rstrip("/"))
        if kind == "custom_stt":
            self.model = self.find_model()
            model_id = s.get("ModelId", "").strip()
            if self.model is None and not model_id:
                raise StartupError(
                    "No custom model: pass ModelId=<model id> (with a volume at %s to keep it), or mount a volume that already holds the model."
                    % self.models_dir
                )
            if self.model is None and self.mode == "disconnected":
                raise StartupError(
                    "No custom model in %s: a disconnected container cannot download one. Download it first with ModelId= and a connected (S0) Speech resource."
                    % self.models_dir
                )
            if self.model is None and self.mode == "connected":
                self.writable_dir(self.models_dir, "the model directory", create=True)
            if self.license is not None and self.license.get("modelId") and self.model and self.model.get("modelId") != self.license["modelId"]:
                raise StartupError(
                    "The license was issued for model %s, but %s holds model %s. Download a new license."
                    % (self.license["modelId"], self.models_dir, self.model.get("modelId"))
                )
        # Concurrency.
        raw = s.get("DECODER_MAX_COUNT")
        try:
            self.decoder_max = int(raw) if raw not in (None, "") else 2
        except ValueError as exc:
            raise StartupError("DECODER_MAX_COUNT must be a whole number, not %r." % raw) from exc
        if self.decoder_max < 1:
            raise StartupError("DECODER_MAX_COUNT must be at least 1.")
        self.decoders = threading.BoundedSemaphore(self.decoder_max)

    def find_model(self):
        path = os.path.join(self.models_dir, "properties.json")
        if not os.path.isfile(path):
            return None
        try:
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    def load_license(self):
        path = os.path.join(self.license_dir, LICENSE_FILE)
        if not os.path.isdir(self.license_dir) or not os.path.isfile(path):
            raise StartupError(LICENSE_NOT_FOUND)
        try:
            with open(path, encoding="utf-8") as fh:
                document = json.load(fh)
        except PermissionError as exc:
            raise StartupError("Permission denied reading %s: the license must be readable by the container's user (uid %d)." % (path, os.geteuid())) from exc
        except (OSError, ValueError) as exc:
            raise StartupError("The license file %s cannot be read: %s" % (path, exc)) from exc
        try:
            payload = verify_license(document)
        except ValueError as exc:
            raise StartupError("The license is not valid: %s." % exc) from exc
        if payload.get("containerType") != self.kind:
            raise StartupError(
                "The license was issued for container type %r, not for this %s container (%r). Download a license with this image."
                % (payload.get("containerType"), self.info["title"], self.kind)
            )
        if payload.get("containerVersion") != self.version:
            raise StartupError(
                "The license was issued for image version %s; this image is %s. Download a new license after every image update."
                % (payload.get("containerVersion"), self.version)
            )
        try:
            expires = datetime.datetime.strptime(payload.get("expiresAt", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError as exc:
            raise StartupError("The license is not valid: no expiry date.") from exc
        if expires <= utcnow():
            raise StartupError("The license expired on %s. Download a new license." % iso(expires))
        self.license = payload

    # ---- billing

    def billing_call(self, method, path, body=None):
        """(status code, JSON dict) from the billing service; raises OutboundError when unreachable."""
        headers = {"Ocp-Apim-Subscription-Key": self.api_key, "Accept": "application/json", "User-Agent": "speech-emulator/%s (%s)" % (self.version, self.kind)}
        code, _headers, data = outbound(method, self.billing + path, self.proxy, headers=headers, body=body)
        try:
            answer = json.loads(data.decode() or "{}")
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        return code, answer

    def api_status(self):
        """(apiStatus, message) as /status reports it."""
        if self.mode == "disconnected":
            return "Valid", "The container is running disconnected with a valid license (expires %s); usage is recorded under %s." % (
                self.license["expiresAt"],
                self.output,
            )
        try:
            code, answer = self.billing_call(
                "POST", "/containers/v1/status", {"containerType": self.kind, "containerVersion": self.version, "containerId": self.container_id}
            )
        except OutboundError as exc:
            self.log(3, "Billing endpoint %s could not be reached: %s" % (self.billing, exc))
            return "CouldNotConnect", STATUS_MESSAGES["CouldNotConnect"]
        if code >= 500:
            return "CouldNotConnect", STATUS_MESSAGES["CouldNotConnect"]
        status = answer.get("status") if answer.get("status") in STATUS_CODES else "Unknown"
        if code == 200 and status == "Valid":
            return "Valid", VALID_MESSAGE
        return status, STATUS_MESSAGES.get(status, STATUS_MESSAGES["Unknown"])

    def heartbeat_once(self):
        with self.usage_lock:
            quantity = self.pending
        payload = {
            "id": str(uuid.uuid4()),
            "containerType": self.kind,
            "containerVersion": self.version,
            "containerId": self.container_id,
            "meter": {"name": self.info["meter"], "quantity": quantity},
            "requestTime": iso(utcnow()),
            "apiType": "speech",
            "imageTag": self.tag,
        }
        try:
            code, answer = self.billing_call("POST", "/containers/v1/usage", payload)
        except OutboundError as exc:
            return False, "CouldNotConnect", "billing endpoint unreachable (%s)" % exc
        if code >= 500:
            return False, "CouldNotConnect", "billing endpoint answered HTTP %d" % code
        if code == 200:
            with self.usage_lock:
                self.pending -= quantity
            return True, "Valid", "usage reported"
        status = answer.get("status") if answer.get("status") in STATUS_CODES else "Unknown"
        return False, status, "billing refused the usage report: %s" % status

    def heartbeat_loop(self, interval, max_failures):
        while not self.stop.is_set():
            ok, status, detail = self.heartbeat_once()
            with self.lock:
                if ok:
                    if self.block is not None:
                        self.log(2, "Billing heartbeat succeeded: serving queries again.")
                    self.failures, self.block = 0, None
                elif status == "CouldNotConnect":
                    self.failures += 1
                    self.log(3, "Billing heartbeat failed (%d of %d allowed): %s" % (self.failures, max_failures, detail))
                    if self.failures >= max_failures and self.block is None:
                        self.block = (
                            503,
                            status,
                            "The container cannot reach its billing endpoint (%d heartbeats failed); queries are refused until billing is restored."
                            % self.failures,
                        )
                        self.log(4, self.block[2])
                else:
                    self.failures = 0
                    code = STATUS_CODES.get(status, 403)
                    code = code if code in (401, 403) else 403
                    self.block = (
                        code,
                        status,
                        "Endpoint connection failed with status '%s': %s Queries are refused." % (status, STATUS_MESSAGES.get(status, "")),
                    )
                    self.log(4, self.block[2])
            self.stop.wait(interval)

    def meter(self, quantity):
        if self.mode == "disconnected":
            now = utcnow()
            record = {
                "id": str(uuid.uuid4()),
                "containerType": self.kind,
                "containerVersion": self.version,
                "containerId": self.container_id,
                "meter": {"name": self.info["meter"], "quantity": quantity},
                "billedUnit": self.info["unit"],
                "requestTime": iso(now),
                "apiType": "speech",
                "serviceName": self.info["service"],
                "licenseId": self.license.get("licenseId"),
            }
            folder = os.path.join(self.output, "usage")
            with self.usage_lock:
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, "%04d-%02d.jsonl" % (now.year, now.month)), "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record) + "\n")
        else:
            with self.usage_lock:
                self.pending += quantity

    def usage_report(self, month=None, year=None):
        folder = os.path.join(self.output, "usage")
        total = 0.0
        names = []
        if month is None:
            try:
                names = sorted(n for n in os.listdir(folder) if n.endswith(".jsonl"))
            except OSError:
                names = []
        else:
            names = ["%04d-%02d.jsonl" % (year, month)]
        with self.usage_lock:
            for name in names:
                try:
                    with open(os.path.join(folder, name), encoding="utf-8") as fh:
                        for line in fh:
                            try:
                                total += float(json.loads(line)["meter"]["quantity"])
                            except (ValueError, KeyError, TypeError):
                                continue
                except OSError:
                    continue
        quantity = int(total) if total == int(total) else total
        return {
            "type": "CommerceUsageResponse",
            "apiType": "speech",
            "serviceName": self.info["service"],
            "meters": [{"name": self.info["meter"], "quantity": quantity, "billedUnit": self.info["unit"]}],
        }

    # ---- the internal backend (like the real containers' gRPC on localhost)

    def start_backend(self):
        container = self

        class Backend(Handler):
            def do_POST(self):
                self.body()
                self.reply(200, {"nonce": container.nonce})

        server = Server(("127.0.0.1", 0), Backend)
        self.backend_port = server.server_address[1]
        threading.Thread(target=server.serve_forever, name="backend", daemon=True).start()

    def backend_call(self):
        """None when the internal call works, else the error the real NTTS container reports."""
        via = self.proxy.for_url("http", "localhost")
        if via is not None:
            # The real call is gRPC over HTTP/2 (h2c), which an HTTP/1.1 proxy cannot carry:
            # sent to the proxy it fails whatever the proxy does with it.
            return (
                "Internal service error (500): Error starting gRPC call. HttpRequestException: Requesting HTTP version 2.0 with "
                "version policy RequestVersionOrHigher while unable to establish HTTP/2 connection. (the internal call to "
                "http://localhost:%d was sent to the proxy %s:%d; add localhost to NO_PROXY)" % (self.backend_port, via["host"], via["port"])
            )
        try:
            code, _h, data = outbound(
                "POST",
                "http://localhost:%d/grpc.Synthesizer/Start" % self.backend_port,
                None,
                headers={"Content-Type": "application/grpc"},
                body=b"\0",
                timeout=5,
            )
            if code == 200 and json.loads(data.decode()).get("nonce") == self.nonce:
                return None
            detail = "the internal endpoint answered HTTP %d through a proxy" % code
        except (OutboundError, ValueError, AttributeError) as exc:
            detail = str(exc)
        return (
            "Internal service error (500): Error starting gRPC call. HttpRequestException: Requesting HTTP version 2.0 with "
            "version policy RequestVersionOrHigher while unable to establish HTTP/2 connection. (internal call to "
            "http://localhost:%d failed: %s)" % (self.backend_port, detail)
        )

    # ---- model download (custom speech to text)

    def download_model(self, model_id, seconds):
        self.downloading = True
        self.not_ready_message = "Downloading model %s." % model_id
        self.log(2, "Model %s is not in %s: downloading it." % (model_id, self.models_dir))
        try:
            code, answer = self.billing_call("GET", "/containers/v1/models/%s" % urllib.parse.quote(model_id, safe=""))
        except OutboundError as exc:
            code, answer = 0, {"message": "billing endpoint unreachable (%s)" % exc}
        if code != 200:
            self.log(4, "[ERROR] Failed to download: model %s: %s" % (model_id, answer.get("message") or answer.get("status") or "HTTP %d" % code))
            sys.stdout.flush()
            sys.stderr.write(self.redact("Failed to download model %s: %s\n" % (model_id, answer.get("message") or "HTTP %d" % code)))
            sys.stderr.flush()
            os._exit(1)
        if self.stop.wait(seconds):
            return
        props = {
            "modelId": model_id,
            "locale": answer.get("locale", "en-US"),
            "name": answer.get("name", model_id),
            "downloadedAt": iso(utcnow()),
            "containerVersion": self.version,
        }
        try:
            with open(os.path.join(self.models_dir, "model-%s.bin" % re.sub(r"[^A-Za-z0-9-]", "_", model_id)), "wb") as fh:
                fh.write(hashlib.sha256(model_id.encode()).digest() * 64)
            tmp = os.path.join(self.models_dir, ".properties.json.tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(props, fh)
            os.replace(tmp, os.path.join(self.models_dir, "properties.json"))
        except OSError as exc:
            self.log(4, "[ERROR] Failed to download: cannot write %s: %s" % (self.models_dir, exc))
            os._exit(1)
        self.model = props
        self.log(2, "Model %s downloaded to %s." % (model_id, self.models_dir))
        self.downloading = False
        self.ready_at = time.monotonic() + self.warmup
        self.not_ready_message = "The container is warming up."

    # ---- state

    def is_ready(self):
        return not self.downloading and time.monotonic() >= self.ready_at

    def gate(self):
        """None when a query may run, else (code, message)."""
        if not self.is_ready():
            return 503, "The container is not ready: %s" % self.not_ready_message
        with self.lock:
            block = self.block
        if block is not None:
            return block[0], block[2]
        return None

    # ---- run

    def run_download_license(self):
        model_id = None
        if self.kind == "custom_stt":
            model = self.find_model()
            model_id = (model or {}).get("modelId") or self.settings.get("ModelId", "").strip() or None
        self.log(2, "Downloading a license for %s %s from %s into %s." % (self.kind, self.version, self.billing, self.license_dir))
        try:
            code, answer = self.billing_call(
                "POST",
                "/containers/v1/license",
                {"containerType": self.kind, "containerVersion": self.version, "containerId": self.container_id, "modelId": model_id},
            )
        except OutboundError as exc:
            raise StartupError("Could not download a license: the billing endpoint could not be reached (%s)." % exc) from exc
        if code != 200 or not isinstance(answer.get("license"), dict):
            raise StartupError(
                "Could not download a license: %s (HTTP %d, status %s)."
                % (answer.get("message") or "the billing endpoint refused", code, answer.get("status", "Unknown"))
            )
        path = os.path.join(self.license_dir, LICENSE_FILE)
        try:
            tmp = path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(answer, fh, indent=1, sort_keys=True)
            os.replace(tmp, path)
        except OSError as exc:
            raise StartupError("Cannot write the license to %s: %s" % (path, exc)) from exc
        self.log(2, "License downloaded to %s (expires %s). The container exits now." % (path, answer["license"].get("expiresAt")))
        return 0

    def serve(self):
        env = self.environ
        self.warmup = parse_seconds(env.get("EMULATOR_WARMUP_SECONDS"), 2)
        heartbeat = parse_seconds(env.get("EMULATOR_HEARTBEAT_SECONDS"), 5)
        max_failures = int(env.get("EMULATOR_HEARTBEAT_MAX_FAILURES") or 3)
        download = parse_seconds(env.get("EMULATOR_MODEL_DOWNLOAD_SECONDS"), 3)
        port = int(env.get("EMULATOR_LISTEN_PORT") or self.info["port"])
        self.log(2, "%s container %s (image tag %s), emulated for tests." % (self.info["title"], self.version, self.tag))
        if self.kind == "stt":
            self.log(2, "Locale: %s" % self.locale)
        if self.kind == "ntts":
            self.log(2, "Voice: %s" % self.voice)
        if self.mode == "connected":
            self.log(2, "Billing endpoint: %s (usage reported every %gs)" % (self.billing, heartbeat))
        else:
            self.log(
                2,
                "Running disconnected with license %s for %s %s, expires %s; usage records under %s/usage."
                % (self.license.get("licenseId"), self.kind, self.version, self.license["expiresAt"], self.output),
            )
        self.log(2, "Proxy: %s" % self.proxy.describe())
        if self.kind in ("stt", "custom_stt"):
            self.log(2, "DECODER_MAX_COUNT: at most %d concurrent recognitions." % self.decoder_max)
        self.start_backend()
        server = Server(("0.0.0.0", port), make_speech_handler(self))

        def shutdown(_signum, _frame):
            self.log(2, "Application is shutting down...")
            self.stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, shutdown)
        signal.signal(signal.SIGINT, shutdown)
        if self.mode == "connected":
            threading.Thread(target=self.heartbeat_loop, args=(heartbeat, max_failures), name="heartbeat", daemon=True).start()
        model_id = self.settings.get("ModelId", "").strip()
        if self.kind == "custom_stt" and self.model is None:
            self.downloading = True
            threading.Thread(target=self.download_model, args=(model_id, download), name="model", daemon=True).start()
        else:
            if self.kind == "custom_stt":
                ignored = " (ModelId=%s ignored)" % model_id if model_id and model_id != self.model.get("modelId") else ""
                self.log(2, "Found model %s in %s: using it, no download%s." % (self.model.get("modelId"), self.models_dir, ignored))
            self.ready_at = time.monotonic() + self.warmup
            self.not_ready_message = "The container is warming up."
        self.log(2, "Now listening on: http://0.0.0.0:%d" % port, "Microsoft.Hosting.Lifetime")
        self.log(2, "Application started. Press Ctrl+C to shut down.", "Microsoft.Hosting.Lifetime")
        server.serve_forever(poll_interval=0.2)
        server.server_close()
        return 0


def make_speech_handler(container):
    c = container

    class SpeechHandler(Handler):
        last_code = 0

        def handle_one_request(self):
            self.command, self.last_code = None, 0
            super().handle_one_request()
            if self.command and self.last_code and getattr(self, "path", None):
                level = 1 if self.path.split("?")[0] in ("/ready", "/status") else 2
                c.log(level, "%s %s %s" % (self.command, self.path.split("?")[0], self.last_code), "Microsoft.AspNetCore.Hosting")

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            path = self.path.split("?")[0]
            if self.headers.get("Upgrade", "").lower() == "websocket":
                return self.websocket(path)
            if path == "/":
                return self.reply(200, self.home(), "text/html; charset=utf-8")
            if path in ("/swagger", "/swagger/", "/swagger/index.html"):
                return self.reply(200, self.swagger(), "text/html; charset=utf-8")
            if path == "/ready":
                if c.is_ready():
                    message = VALID_MESSAGE if c.mode == "connected" else "Ready; running disconnected with a valid license."
                    return self.reply(200, {"service": c.info["service"], "ready": "ready", "message": message})
                return self.reply(503, {"service": c.info["service"], "ready": "notready", "message": c.not_ready_message})
            if path == "/status":
                status, message = c.api_status()
                return self.reply(STATUS_CODES.get(status, 500), {"service": c.info["service"], "apiStatus": status, "apiStatusMessage": message})
            if c.kind == "ntts" and path == "/cognitiveservices/voices/list":
                return self.reply(200, [self.voice_entry()])
            if path.rstrip("/") == "/records/usage-logs" or path.startswith("/records/usage-logs/"):
                return self.usage_logs(path)
            return self.not_found()

        def do_POST(self):
            path = self.path.split("?")[0]
            if c.kind == "ntts" and path in SYNTH_PATHS:
                return self.synthesize()
            try:
                self.body()
            except ValueError:
                pass
            return self.not_found()

        def not_found(self):
            self.reply(404, {"error": {"code": "NotFound", "message": "No such endpoint: %s %s" % (self.command, self.path.split("?")[0])}})

        def usage_logs(self, path):
            if c.mode != "disconnected":
                return self.reply(404, {"error": {"code": "NotFound", "message": "Usage records exist only on a disconnected container."}})
            rest = [p for p in path[len("/records/usage-logs") :].split("/") if p]
            if not rest:
                return self.reply(200, c.usage_report())
            if len(rest) == 2 and rest[0].isdigit() and rest[1].isdigit() and 1 <= int(rest[0]) <= 12 and len(rest[1]) == 4:
                return self.reply(200, c.usage_report(int(rest[0]), int(rest[1])))
            return self.reply(400, {"error": {"code": "BadRequest", "message": "Use /records/usage-logs/ or /records/usage-logs/{MM}/{YYYY}."}})

        def voice_entry(self):
            locale = "-".join(c.voice.split("-")[:2])
            short = c.voice.split("-", 2)[-1] if c.voice.count("-") >= 2 else c.voice
            return {
                "Name": "Microsoft Server Speech Text to Speech Voice (%s, %s)" % (locale, short),
                "ShortName": c.voice,
                "DisplayName": short.replace("Neural", ""),
                "LocalName": short.replace("Neural", ""),
                "Gender": "Female",
                "Locale": locale,
                "SampleRateHertz": "24000",
                "VoiceType": "Neural",
                "Status": "GA",
            }

        def synthesize(self):
            try:
                raw = self.body()
            except ValueError:
                return self.reply(413, {"error": {"code": "PayloadTooLarge", "message": "The SSML body is too large."}})
            blocked = c.gate()
            if blocked:
                return self.reply(blocked[0], {"error": {"code": "ServiceUnavailable" if blocked[0] == 503 else "Unauthorized", "message": blocked[1]}})
            fmt = (self.headers.get("X-Microsoft-OutputFormat") or DEFAULT_OUTPUT_FORMAT).strip().lower()
            if fmt not in OUTPUT_FORMATS:
                return self.reply(
                    400, {"error": {"code": "BadRequest", "message": "Unsupported output format %r. Supported: %s" % (fmt, ", ".join(sorted(OUTPUT_FORMATS)))}}
                )
            ssml = raw.decode("utf-8", errors="replace")
            if "<speak" not in ssml:
                return self.reply(400, {"error": {"code": "BadRequest", "message": "The request body must be SSML (<speak>...</speak>)."}})
            voice = re.search(r"<voice\b[^>]*?\bname\s*=\s*(['\"])(.*?)\1", ssml, re.S)
            if not voice:
                return self.reply(400, {"error": {"code": "BadRequest", "message": 'The SSML must name a voice: <voice name="%s">.' % c.voice}})
            if voice.group(2).strip().lower() != c.voice.lower():
                return self.reply(
                    400,
                    {
                        "error": {
                            "code": "BadRequest",
                            "message": "Voice does not match: the SSML asks for %s, this container serves %s." % (voice.group(2).strip(), c.voice),
                        }
                    },
                )
            failure = c.backend_call()
            if failure:
                c.log(4, failure)
                return self.reply(500, {"error": {"code": "InternalServerError", "message": failure}})
            text = html.unescape(re.sub(r"<[^>]*>", " ", ssml))
            text = " ".join(text.split())
            rate, riff = OUTPUT_FORMATS[fmt]
            audio = make_wav(rate, len(text), riff)
            c.meter(len(text))
            return self.reply(200, audio, "audio/wav" if riff else "audio/basic")

        def websocket(self, path):
            wanted = RECOGNITION_PATHS if c.info["ws_paths"] == "recognition" else (LID_PATH,) if c.info["ws_paths"] else ()
            if path not in wanted:
                return self.not_found()
            key = self.headers.get("Sec-WebSocket-Key", "").strip()
            try:
                if len(base64.b64decode(key, validate=True)) != 16:
                    raise ValueError
            except ValueError:
                return self.reply(400, {"error": {"code": "BadRequest", "message": "Missing or bad Sec-WebSocket-Key."}})
            if self.headers.get("Sec-WebSocket-Version", "13").strip() != "13":
                return self.reply(426, {"error": {"code": "UpgradeRequired", "message": "WebSocket version 13 only."}}, extra={"Sec-WebSocket-Version": "13"})
            blocked = c.gate()
            if blocked:
                return self.reply(blocked[0], {"error": {"code": "ServiceUnavailable" if blocked[0] == 503 else "Unauthorized", "message": blocked[1]}})
            limited = c.kind in ("stt", "custom_stt")
            if limited and not c.decoders.acquire(blocking=False):
                return self.reply(
                    503, {"error": {"code": "TooManyRequests", "message": "All %d decoders are busy (DECODER_MAX_COUNT=%d)." % (c.decoder_max, c.decoder_max)}}
                )
            try:
                failure = c.backend_call()
                if failure:
                    c.log(4, failure)
                    return self.reply(500, {"error": {"code": "InternalServerError", "message": failure}})
                c.meter(1)
                self.send_response(101, "Switching Protocols")
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", ws_accept(key))
                self.send_header("X-RequestId", uuid.uuid4().hex)
                self.end_headers()
                self.wfile.flush()
                self.last_code = 101
                self.ws_session()
            finally:
                if limited:
                    c.decoders.release()
            self.close_connection = True
            return None

        def ws_session(self):
            """Hold the session until the client closes, goes idle for 10 s, or 60 s pass."""
            self.connection.settimeout(10)
            deadline = time.monotonic() + 60
            try:
                while time.monotonic() < deadline and not c.stop.is_set():
                    frame = ws_read_frame(self.rfile)
                    if frame is None:
                        return
                    opcode, payload = frame
                    if opcode == 8:
                        self.wfile.write(ws_frame(8, payload[:2] or struct.pack(">H", 1000)))
                        self.wfile.flush()
                        return
                    if opcode == 9:
                        self.wfile.write(ws_frame(10, payload))
                        self.wfile.flush()
                self.wfile.write(ws_frame(8, struct.pack(">H", 1000) + b"session time limit"))
            except socket.timeout:
                try:
                    self.wfile.write(ws_frame(8, struct.pack(">H", 1000) + b"idle"))
                except OSError:
                    pass
            except (OSError, ValueError, struct.error):
                return

        def home(self):
            rows = [
                ("Container", "%s (%s)" % (c.info["title"], c.kind)),
                ("Image version", c.version),
                ("Image tag", c.tag),
                ("Mode", c.mode),
                ("Ready", "yes" if c.is_ready() else "no: " + c.not_ready_message),
            ]
            if c.kind == "stt":
                rows.append(("Locale", c.locale))
            if c.kind == "ntts":
                rows.append(("Voice", c.voice))
            if c.kind == "custom_stt":
                rows.append(("Model", (c.model or {}).get("modelId", "downloading")))
            if c.kind in ("stt", "custom_stt"):
                rows.append(("Max concurrent recognitions (DECODER_MAX_COUNT)", str(c.decoder_max)))
            if c.mode == "connected":
                rows.append(("Billing endpoint", c.billing))
            table = "".join("<tr><th>%s</th><td>%s</td></tr>" % (html.escape(k), html.escape(c.redact(v))) for k, v in rows)
            return (
                "<!DOCTYPE html><html><head><title>%s container</title></head><body><h1>Azure AI Speech: %s</h1>"
                "<p>Your %s container is running (a test emulator, not Microsoft's software).</p><table>%s</table>"
                '<p><a href="/ready">/ready</a> <a href="/status">/status</a> <a href="/swagger">/swagger</a></p></body></html>'
                % (html.escape(c.info["title"]), html.escape(c.info["title"]), html.escape(c.info["title"]), table)
            )

        def swagger(self):
            endpoints = ["GET /", "GET /ready", "GET /status", "GET /swagger"]
            if c.kind == "ntts":
                endpoints += ["POST %s" % p for p in SYNTH_PATHS] + ["GET /cognitiveservices/voices/list"]
            elif c.info["ws_paths"] == "recognition":
                endpoints += ["WebSocket %s" % p for p in RECOGNITION_PATHS]
            elif c.kind == "lid":
                endpoints += ["WebSocket %s" % LID_PATH]
            if c.info["disconnected"]:
                endpoints += ["GET /records/usage-logs/", "GET /records/usage-logs/{MM}/{YYYY}"]
            items = "".join("<li><code>%s</code></li>" % html.escape(e) for e in endpoints)
            return "<!DOCTYPE html><html><head><title>Swagger UI</title></head><body><h1>%s API</h1><ul>%s</ul></body></html>" % (
                html.escape(c.info["title"]),
                items,
            )

    return SpeechHandler


# --------------------------------------------------------------------------
# The diagnostic container (a one-shot run)


def run_diagnostic(argv, environ):
    try:
        settings = Settings(argv, environ)
        proxy = Proxy(settings)
    except StartupError as exc:
        print(str(exc))
        return 1
    key = settings.get("ApiKey", "").strip()
    secrets = [k for k in (key, settings.get("HTTP_PROXY_CREDS", "")) if k]

    def say(line):
        for secret in secrets:
            if len(secret) >= 4:
                line = line.replace(secret, "***")
        print(line, flush=True)

    say("Azure AI containers diagnostic (emulator)")
    ok = True
    if str(settings.get("Eula", "")).strip().lower() != "accept":
        say("[FAIL] Eula=accept was not given.")
        ok = False
    billing = settings.get("Billing", "")
    origin = billing_origin(billing) if billing.strip() else None
    if origin is None:
        say("Invalid Billing Endpoint URI.")
        return 1
    say("[PASS] Billing endpoint URI is valid: %s" % origin)
    parts = urllib.parse.urlsplit(origin)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    via = proxy.for_url(parts.scheme, host)
    if via:
        say("[INFO] Outbound calls go through the proxy %s:%d" % (via["host"], via["port"]))
        say("[SKIP] DNS: %s is resolved by the proxy" % host)
    else:
        try:
            addresses = sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
            say("[PASS] DNS: %s resolves to %s" % (host, ", ".join(addresses)))
        except OSError as exc:
            say("[FAIL] DNS: %s does not resolve (%s)" % (host, exc))
            say("Some checks failed.")
            return 1
    try:
        if parts.scheme == "https":
            if via:
                conn = http.client.HTTPSConnection(via["host"], via["port"], timeout=8, context=ssl.create_default_context())
                conn.set_tunnel(host, port, headers=proxy.auth_header(via))
            else:
                conn = http.client.HTTPSConnection(host, port, timeout=8, context=ssl.create_default_context())
            conn.connect()
            peer = conn.sock.getpeercert() or {}
            issuer = dict(x[0] for x in peer.get("issuer", ())).get("commonName", "?")
            conn.close()
            say("[PASS] TLS: connected to %s:%d, certificate verified (issued by %s)" % (host, port, issuer))
        else:
            sock = socket.create_connection((via["host"], via["port"]) if via else (host, port), timeout=8)
            sock.close()
            say("[PASS] Connection: connected to %s:%d (plain HTTP, no TLS)" % (host, port))
    except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
        say("[FAIL] %s: cannot connect to %s:%d (%s)" % ("TLS" if parts.scheme == "https" else "Connection", host, port, exc))
        say("Some checks failed.")
        return 1
    if not key:
        say("[FAIL] ApiKey was not given.")
        ok = False
    else:
        try:
            code, _h, data = outbound(
                "POST", origin + "/containers/v1/status", proxy, headers={"Ocp-Apim-Subscription-Key": key}, body={"containerType": "diagnostic"}
            )
            try:
                status = json.loads(data.decode()).get("status", "Unknown")
            except (ValueError, AttributeError):
                status = "Unknown"
            if code >= 500:
                status = "CouldNotConnect"
            if code == 200 and status == "Valid":
                say("[PASS] API key accepted by the billing endpoint (status Valid)")
            else:
                say("[FAIL] API key not accepted by the billing endpoint (status %s): %s" % (status, STATUS_MESSAGES.get(status, "")))
                ok = False
        except OutboundError as exc:
            say("[FAIL] Billing endpoint did not answer the key check (%s)" % exc)
            ok = False
    say("All checks passed." if ok else "Some checks failed.")
    return 0 if ok else 1


def serve_main(argv, environ):
    kind = (environ.get("EMULATOR_KIND") or "").strip()
    if kind == "diagnostic":
        return run_diagnostic(argv, environ)
    container = None
    try:
        container = Container(argv, environ)
        container.configure()
        if container.mode == "download-license":
            return container.run_download_license()
        return container.serve()
    except StartupError as exc:
        message = container.redact(str(exc)) if container else str(exc)
        if container is not None and container.disk_log is not None:
            container.log(4, message)
        sys.stdout.flush()
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        return 1


# --------------------------------------------------------------------------
# The billing service


class Billing:
    def __init__(self, keys_path, state_path=None, license_days=365):
        self.keys_path = keys_path
        self.state_path = state_path
        self.license_days = license_days
        self.lock = threading.Lock()
        self.down = False
        with open(keys_path, encoding="utf-8") as fh:
            self.keys = json.load(fh).get("keys", {})
        self.usage = {}
        if state_path and os.path.isfile(state_path):
            try:
                with open(state_path, encoding="utf-8") as fh:
                    self.usage = json.load(fh).get("usage", {})
            except (OSError, ValueError):
                self.usage = {}

    def log(self, message):
        sys.stdout.write("%s billing: %s\n" % (iso(utcnow()), message))
        sys.stdout.flush()

    def entry(self, key):
        return self.keys.get(key or "")

    def status_of(self, entry):
        if entry is None:
            return "Invalid"
        if entry.get("status"):
            return entry["status"]
        if str(entry.get("resource", "SpeechServices")).lower() != "speechservices":
            return "Mismatch"
        return "Valid"

    def save_state(self):
        if not self.state_path:
            return
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"usage": self.usage}, fh)
        os.replace(tmp, self.state_path)

    def save_keys(self):
        tmp = self.keys_path + ".tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"keys": self.keys}, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.keys_path)
        except OSError as exc:
            self.log("could not save the keys file: %s" % exc)


def make_billing_handler(billing):
    b = billing

    class BillingHandler(Handler):
        def refuse(self, code, status, message):
            self.reply(code, {"status": status, "message": message})

        def handle_billing(self, method):
            path = self.path.split("?")[0]
            try:
                raw = self.body()
            except ValueError:
                return self.refuse(413, "Unknown", "body too large")
            if b.down:
                # As if unreachable: no answer at all.
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return None
            key = self.headers.get("Ocp-Apim-Subscription-Key", "")
            entry = b.entry(key)
            name = entry.get("name", "?") if entry else "unknown key"
            status = b.status_of(entry)
            try:
                payload = json.loads(raw.decode() or "{}")
            except ValueError:
                payload = {}
            if not isinstance(payload, dict):
                payload = {}
            code = STATUS_CODES.get(status, 403) if status != "Valid" else 200
            if method == "POST" and path == "/containers/v1/status":
                b.log("status check by %s: %s" % (name, status))
                return self.refuse(code, status, STATUS_MESSAGES.get(status, ""))
            if method == "POST" and path == "/containers/v1/usage":
                if status != "Valid":
                    b.log("usage report refused for %s: %s" % (name, status))
                    return self.refuse(code, status, STATUS_MESSAGES.get(status, ""))
                meter = payload.get("meter") or {}
                with b.lock:
                    record = b.usage.setdefault(name, {"reports": 0, "meters": {}, "containers": {}, "last": None})
                    record["reports"] += 1
                    try:
                        quantity = float(meter.get("quantity") or 0)
                    except (TypeError, ValueError):
                        quantity = 0.0
                    mname = str(meter.get("name") or "unknown")
                    record["meters"][mname] = record["meters"].get(mname, 0) + quantity
                    cid = str(payload.get("containerId") or "?")
                    record["containers"][cid] = {
                        "containerType": payload.get("containerType"),
                        "containerVersion": payload.get("containerVersion"),
                        "last": iso(utcnow()),
                    }
                    record["last"] = iso(utcnow())
                    b.save_state()
                b.log(
                    "usage from %s (%s %s, container %s): %s %s"
                    % (
                        name,
                        payload.get("containerType"),
                        payload.get("containerVersion"),
                        payload.get("containerId"),
                        meter.get("quantity"),
                        meter.get("name"),
                    )
                )
                return self.reply(200, {"status": "Valid", "accepted": True})
            if method == "POST" and path == "/containers/v1/license":
                if status != "Valid":
                    return self.refuse(code, status, STATUS_MESSAGES.get(status, ""))
                if entry.get("mode") != "disconnected":
                    b.log("license refused for %s: not approved for disconnected containers" % name)
                    return self.refuse(
                        403,
                        "ContainerUseUnauthorized",
                        "This resource is not approved for disconnected containers (it needs the 'Commitment tier disconnected containers' DC0 pricing tier).",
                    )
                kind = payload.get("containerType")
                if kind not in KINDS or not KINDS[kind]["disconnected"]:
                    return self.refuse(400, "Unknown", "Container type %r cannot run disconnected." % kind)
                days = float(entry.get("license_days", b.license_days))
                now = utcnow()
                licence = sign_license(
                    {
                        "licenseId": str(uuid.uuid4()),
                        "containerType": kind,
                        "containerVersion": payload.get("containerVersion"),
                        "modelId": payload.get("modelId"),
                        "issuedTo": name,
                        "issuedAt": iso(now),
                        "expiresAt": iso(now + datetime.timedelta(days=days)),
                    }
                )
                b.log("license issued to %s for %s %s (%g days)" % (name, kind, payload.get("containerVersion"), days))
                return self.reply(200, licence)
            if method == "GET" and path.startswith("/containers/v1/models/"):
                model_id = urllib.parse.unquote(path[len("/containers/v1/models/") :])
                if status != "Valid":
                    return self.refuse(code, status, STATUS_MESSAGES.get(status, ""))
                if entry.get("mode") == "disconnected":
                    return self.refuse(
                        403,
                        "ContainerUseUnauthorized",
                        "A disconnected (DC0) resource cannot download custom models; use a Standard (S0) Speech resource's key.",
                    )
                if not re.match(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$", model_id) or model_id in entry.get("missing_models", []):
                    return self.refuse(404, "Unknown", "Model %s was not found." % model_id)
                b.log("model %s downloaded by %s" % (model_id, name))
                return self.reply(200, {"modelId": model_id, "locale": entry.get("model_locale", "en-US"), "name": "custom model " + model_id})
            return self.reply(404, {"status": "Unknown", "message": "no such billing endpoint"})

        def do_POST(self):
            self.handle_billing("POST")

        def do_GET(self):
            self.handle_billing("GET")

    return BillingHandler


def make_admin_handler(billing):
    b = billing

    class AdminHandler(Handler):
        def do_GET(self):
            path = self.path.split("?")[0]
            if path == "/admin/usage":
                with b.lock:
                    return self.reply(200, {"down": b.down, "usage": json.loads(json.dumps(b.usage))})
            if path == "/admin/keys":
                return self.reply(
                    200, {"keys": [{"name": e.get("name"), "mode": e.get("mode", "connected"), "status": b.status_of(e)} for e in b.keys.values()]}
                )
            if path in ("/admin/health", "/"):
                return self.reply(200, {"ok": True, "down": b.down})
            return self.reply(404, {"error": "no such admin endpoint"})

        def do_POST(self):
            path = self.path.split("?")[0]
            try:
                raw = self.body()
                payload = json.loads(raw.decode() or "{}")
            except ValueError:
                return self.reply(400, {"error": "the body must be JSON"})
            if path == "/admin/down":
                b.down = True
                b.log("admin: billing is DOWN (requests get no answer)")
                return self.reply(200, {"down": True})
            if path == "/admin/up":
                b.down = False
                b.log("admin: billing is up")
                return self.reply(200, {"down": False})
            if path == "/admin/reset":
                with b.lock:
                    b.usage = {}
                    b.save_state()
                return self.reply(200, {"usage": {}})
            if path == "/admin/keys":
                items = payload if isinstance(payload, list) else [payload]
                for item in items:
                    if not isinstance(item, dict) or not item.get("key"):
                        return self.reply(400, {"error": 'each key needs {"key": ..., "name": ..., "mode": connected|disconnected}'})
                with b.lock:
                    for item in items:
                        entry = {k: v for k, v in item.items() if k != "key"}
                        entry.setdefault("name", "key-%d" % (len(b.keys) + 1))
                        entry.setdefault("mode", "connected")
                        b.keys[item["key"]] = entry
                    b.save_keys()
                b.log("admin: %d key(s) added" % len(items))
                return self.reply(200, {"added": [i.get("name") for i in items]})
            return self.reply(404, {"error": "no such admin endpoint"})

    return AdminHandler


def billing_main(argv):
    parser = argparse.ArgumentParser(prog="speech_emulator.py billing", description="The emulator's billing service.")
    parser.add_argument("--keys", required=True, help='JSON file {"keys": {"<key>": {"name": ..., "mode": connected|disconnected}}}')
    parser.add_argument("--listen", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--admin-listen", default="0.0.0.0")
    parser.add_argument("--admin-port", type=int, default=8080)
    parser.add_argument("--cert", help="PEM certificate chain for HTTPS")
    parser.add_argument("--key", help="PEM private key for HTTPS")
    parser.add_argument("--plain-http", action="store_true", help="serve billing over plain HTTP (unit tests)")
    parser.add_argument("--state", help="JSON file keeping the usage counts across restarts")
    parser.add_argument("--license-days", type=float, default=365.0)
    args = parser.parse_args(argv)
    billing = Billing(args.keys, args.state, args.license_days)
    server = Server((args.listen, args.port), make_billing_handler(billing))
    if not args.plain_http:
        if not args.cert or not args.key:
            parser.error("--cert and --key are needed unless --plain-http")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.tls_context = context
    admin = Server((args.admin_listen, args.admin_port), make_admin_handler(billing))
    threading.Thread(target=admin.serve_forever, name="admin", daemon=True).start()

    def shutdown(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    billing.log(
        "serving %s on %s:%d (%d keys), admin on http://%s:%d"
        % ("http" if args.plain_http else "https", args.listen, server.server_address[1], len(billing.keys), args.admin_listen, admin.server_address[1])
    )
    server.serve_forever(poll_interval=0.2)
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in ("serve", "billing") else "serve"
    if command == "billing":
        return billing_main(argv)
    return serve_main(argv, dict(os.environ))


if __name__ == "__main__":
    sys.exit(main())
