"""The speech container: configuration, start-up checks, billing heartbeat, usage, internal backend."""

import datetime
import hashlib
import json
import math
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

from .common import (
    KINDS,
    LEVEL_LONG,
    LEVEL_NAMES,
    LOG_LEVELS,
    MODELS_DIR,
    STATUS_CODES,
    STATUS_MESSAGES,
    VALID_MESSAGE,
    StartupError,
    iso,
    parse_seconds,
    utcnow,
)
from .httpd import Handler, Server
from .knobs import Knobs
from .licences import LICENSE_FILE, LICENSE_NOT_FOUND, verify_license
from .network import outbound, OutboundError, Proxy
from .server import make_speech_handler
from .settings import billing_origin, Settings


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
        # Test knobs of the USP side (image ENV or docker run -e).
        self.knobs = Knobs(self.environ)

    def recognition_locale(self):
        """The one locale this container recognizes: the image's (stt) or the custom model's (custom_stt)."""
        if self.kind == "custom_stt":
            return (self.model or {}).get("locale") or "en-US"
        return self.locale

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
        if self.kind in ("stt", "custom_stt", "lid", "ntts"):
            self.log(2, "Emulator test knobs: %s." % self.knobs.describe())
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
