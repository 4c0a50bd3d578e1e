"""The speech container's HTTP endpoints."""

import html

from . import language_id, session, synthesis, websocket
from .audio import make_wav
from .common import RECOGNITION_PATHS, STATUS_CODES, SYNTH_PATHS, VALID_MESSAGE
from .httpd import Handler
from .synthesis import DEFAULT_OUTPUT_FORMAT, OUTPUT_FORMATS


def drain(rfile, sock):
    """Bytes the HTTP parser already buffered after the upgrade request (without blocking)."""
    sock.setblocking(False)
    try:
        data = rfile.peek() or b""
        return rfile.read(len(data)) if data else b""
    except (BlockingIOError, OSError, ValueError):
        return b""
    finally:
        sock.setblocking(True)


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
            names = synthesis.voices(ssml)
            if not names:
                return self.reply(400, {"error": {"code": "BadRequest", "message": 'The SSML must name a voice: <voice name="%s">.' % c.voice}})
            other = [name for name in names if name.lower() != c.voice.lower()]
            if other:
                message = "Voice does not match: the SSML asks for %s, this container serves %s." % (other[0], c.voice)
                return self.reply(400, {"error": {"code": "BadRequest", "message": message}})
            failure = c.backend_call()
            if failure:
                c.log(4, failure)
                return self.reply(500, {"error": {"code": "InternalServerError", "message": failure}})
            text = synthesis.text_of(ssml)
            rate, riff = OUTPUT_FORMATS[fmt]
            audio = make_wav(rate, len(text), riff)
            c.meter(len(text))
            return self.reply(200, audio, "audio/wav" if riff else "audio/basic")

        def usp_service(self, path, query):
            """The USP service this container runs on path, or None (404)."""
            service = c.info["usp"]
            if service == "recognition" and path in RECOGNITION_PATHS:
                return service
            if service == "language" and (path in language_id.LID_PATHS or (path in RECOGNITION_PATHS and "lidEnabled" in query)):
                return service
            if service == "synthesis" and path in synthesis.WS_PATHS:
                return service
            return None

        def websocket(self, path):
            query = self.path.partition("?")[2]
            service = self.usp_service(path, query)
            if service is None:
                return self.not_found()
            key = self.headers.get("Sec-WebSocket-Key", "").strip()
            if not websocket.valid_client_key(key):
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
                self.send_response(101, "Switching Protocols")
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", websocket.accept_key(key))
                offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",")]
                if "USP" in offered:
                    self.send_header("Sec-WebSocket-Protocol", "USP")
                self.end_headers()
                self.wfile.flush()
                self.last_code = 101
                c.log(2, "%s %s 101" % (self.command, path), "Microsoft.AspNetCore.Hosting")
                conn = websocket.Connection(self.connection, drain(self.rfile, self.connection))
                session.Session(c, conn, service, path, query).run()
            finally:
                if limited:
                    c.decoders.release()
            self.close_connection = True
            self.last_code = 0  # logged above, before the session
            return None

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
            if c.info["usp"]:
                rows.append(("Emulator test knobs", c.knobs.describe()))
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
                endpoints += ["WebSocket %s (USP)" % p for p in synthesis.WS_PATHS]
            elif c.info["usp"] == "recognition":
                endpoints += ["WebSocket %s (USP)" % p for p in RECOGNITION_PATHS]
            elif c.kind == "lid":
                endpoints += ["WebSocket %s (USP)" % p for p in language_id.LID_PATHS]
                endpoints += ["WebSocket %s?lidEnabled=... (USP)" % p for p in RECOGNITION_PATHS]
            if c.info["disconnected"]:
                endpoints += ["GET /records/usage-logs/", "GET /records/usage-logs/{MM}/{YYYY}"]
            items = "".join("<li><code>%s</code></li>" % html.escape(e) for e in endpoints)
            return "<!DOCTYPE html><html><head><title>Swagger UI</title></head><body><h1>%s API</h1><ul>%s</ul></body></html>" % (
                html.escape(c.info["title"]),
                items,
            )

    return SpeechHandler
