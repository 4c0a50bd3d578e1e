"""A USP connection: messages in, turns tracked by X-RequestId, answers out, the protocol's limits.

One thread per connection reads the client's messages and answers them in order. Several
turns may follow one another on a connection (a new speech.context or synthesis.context with
a new request id after turn.end); a turn started while another runs abandons the older one
(the service "discards any queued or unsent messages" of a previous turn). The connection is
closed after EMULATOR_USP_IDLE_SECONDS without a message either way (180 s) and at
EMULATOR_USP_MAX_SECONDS (10 min), but never while a turn waits for its answer."""

import collections
import time

from . import audio, language_id, recognition, synthesis, usp, websocket

POLL_SECONDS = 0.25
IGNORED_PATHS = ("telemetry", "speech.event", "event", "speech.agent.context", "speech.keyword")
TURN_STARTERS = ("speech.context", "synthesis.context", "ssml")
# gate() HTTP code -> RecognitionStatus of a refused recognition turn
REFUSED_STATUS = {503: "ServiceUnavailable", 401: "Forbidden", 403: "Forbidden", 429: "TooManyRequests"}


class Session:
    """service: "recognition" (stt, custom_stt), "language" (lid) or "synthesis" (ntts)."""

    def __init__(self, container, conn, service, path, query):
        self.c = container
        self.conn = conn
        self.service = service
        self.path = path
        self.query = query
        self.mode = next((m for m in recognition.MODES if "/%s/" % m in path), "interactive")
        self.knobs = container.knobs
        self.turn = None
        self.turn_id = None
        self.first_audio = True
        self.awaiting = False  # the current turn's request is complete and its answer not sent (silent socket)
        self.finished = collections.deque(maxlen=256)
        self.opened = time.monotonic()
        self.config = {}
        self.turns = 0

    # ---- the loop

    def run(self):
        try:
            while True:
                reason = self.limit_reached()
                if reason:
                    self.c.log(2, "USP connection on %s closed: %s" % (self.path, reason[1]))
                    self.conn.close(reason[0], reason[1])
                    return
                message = self.conn.receive(timeout=POLL_SECONDS)
                if message is not None:
                    self.dispatch(*message)
        except usp.UspError as exc:
            self.refuse(exc.code, exc.reason)
        except websocket.ProtocolError as exc:
            self.refuse(exc.code, exc.reason)
        except audio.AudioFormatError as exc:
            self.refuse(websocket.INVALID_PAYLOAD, "Invalid audio format: %s." % exc)
        except websocket.Closed:
            pass

    def refuse(self, code, reason):
        self.c.log(3, "USP connection on %s closed with %d: %s" % (self.path, code, reason))
        try:
            self.conn.close(code, reason)
        except websocket.Closed:
            pass

    def limit_reached(self):
        """(close code, reason) when the connection must end now, else None."""
        if self.c.stop.is_set():
            return websocket.GOING_AWAY, "The container is shutting down."
        if self.awaiting:
            return None
        if self.conn.idle_seconds >= self.knobs.idle_seconds:
            return websocket.NORMAL, "Connection idle for %g seconds: closed by the service." % self.knobs.idle_seconds
        if time.monotonic() - self.opened >= self.knobs.max_seconds:
            return websocket.NORMAL, "Connection lifetime limit of %g seconds reached." % self.knobs.max_seconds
        return None

    # ---- messages

    def dispatch(self, opcode, payload):
        message = usp.parse_text(payload) if opcode == websocket.TEXT else usp.parse_binary(payload)
        path = message.path.lower()
        if not path:
            raise usp.UspError(usp.PROTOCOL_ERROR, "Missing/Empty header. Path.")
        request_id = message.request_id
        if path != "speech.config":
            if not request_id:
                raise usp.UspError(usp.PROTOCOL_ERROR, "Missing/Empty header. X-RequestId.")
            if not usp.is_request_id(request_id):
                raise usp.UspError(usp.PROTOCOL_ERROR, "Invalid request. X-RequestId header value was not specified in no-dash UUID format.")
        request_id = request_id.lower()
        self.c.log(0, "USP <- %s %s (%d bytes)" % (path, request_id or "-", len(message.body)))
        if path == "speech.config":
            self.config = message.json()
            return
        if path in IGNORED_PATHS:
            return
        if request_id in self.finished:
            if path in TURN_STARTERS:
                raise usp.UspError(usp.PROTOCOL_ERROR, "Invalid request. Reuse of request identifiers is not allowed.")
            return  # audio after the turn's end (interactive mode ends a turn before the client stops sending)
        if self.service == "synthesis":
            self.synthesis_message(path, request_id, message)
        else:
            self.recognition_message(path, request_id, message)

    def sender(self, request_id):
        def send(path, body):
            self.conn.send_text(usp.build_text(path, request_id, body))
            self.c.log(0, "USP -> %s %s" % (path, request_id))

        return send

    def binary_sender(self, request_id):
        def send(path, data, headers=None):
            self.conn.send_binary(usp.build_binary(path, request_id, data, headers=headers))

        return send

    def begin(self, request_id, turn):
        """Make turn the current one; a turn still running is abandoned."""
        if self.turn_id is not None:
            self.c.log(2, "USP turn %s abandoned: the client started turn %s." % (self.turn_id, request_id))
            self.finished.append(self.turn_id)
        self.turn, self.turn_id, self.first_audio, self.awaiting = turn, request_id, True, False
        self.turns += 1

    def end(self, summary):
        self.c.log(2, "USP turn %s on %s: %s" % (self.turn_id, self.path, summary))
        self.finished.append(self.turn_id)
        self.turn = self.turn_id = None
        self.awaiting = False

    # ---- recognition and language identification

    def recognition_message(self, path, request_id, message):
        if path == "speech.context":
            if request_id != self.turn_id:
                self.begin(request_id, self.recognition_turn(request_id, message.json()))
            return
        if path != "audio":
            return
        if request_id != self.turn_id:
            self.begin(request_id, self.recognition_turn(request_id, {}))
        first, self.first_audio = self.first_audio, False
        if self.knobs.socket == "silent":
            self.awaiting = self.awaiting or not message.body
            return
        turn = self.turn
        if first:
            blocked = self.c.gate()
            if blocked:
                turn.failure = REFUSED_STATUS.get(blocked[0], "ServiceUnavailable")
                self.c.log(3, "USP turn %s refused: %s" % (request_id, blocked[1]))
        turn.audio(message.body, first)
        if turn.done:
            statuses = sorted(set(turn.statuses))
            seconds = turn.detector.position / turn.detector.rate if turn.detector else 0
            language = ", language %s" % turn.lid if turn.lid and "Success" in statuses else ""
            self.end("%d phrase(s) (%s) from %.2f s of audio%s" % (turn.phrases, ", ".join(statuses), seconds, language))

    def recognition_turn(self, request_id, context):
        options = recognition.Options(self.mode, self.query, context)
        c = self.c
        detected, with_text = None, True
        if self.service == "language" or language_id.requested(self.query, context):
            offered = language_id.candidates(self.query, context)
            if not offered:
                raise usp.UspError(usp.INVALID_PAYLOAD, "Language identification needs candidate languages (speech.context languageId.languages).")
            own = None
            if self.service == "recognition":
                own = c.recognition_locale()
                if own.lower() not in [lang.lower() for lang in offered]:
                    raise usp.UspError(
                        usp.INVALID_PAYLOAD,
                        "Unsupported locale: none of the candidate languages (%s) is %s, the only locale of this container." % (", ".join(offered), own),
                    )
            detected = language_id.detect(offered, self.knobs.detected_language, own)
            with_text = self.service == "recognition"
        else:
            own = c.recognition_locale()
            wanted = options.language or own
            if wanted.lower() != own.lower():
                raise usp.UspError(usp.INVALID_PAYLOAD, "Unsupported locale: %s. This container recognizes %s only." % (wanted, own))
        meter_name = c.info["meter"]
        return recognition.RecognitionTurn(
            self.sender(request_id),
            options,
            self.knobs.transcript,
            lid=detected,
            text=with_text,
            failure=self.knobs.recognizer_failure,
            meter=(lambda: c.meter(1)) if meter_name else None,
        )

    # ---- synthesis

    def synthesis_message(self, path, request_id, message):
        if path not in ("synthesis.context", "ssml"):
            return
        if request_id != self.turn_id:
            turn = synthesis.SynthesisTurn(
                self.sender(request_id), self.binary_sender(request_id), self.c.voice, self.knobs.synthesis, meter=self.c.meter
            )
            self.begin(request_id, turn)
        if path == "synthesis.context":
            self.turn.context(message.json())
            return
        try:
            document = message.text
        except UnicodeDecodeError as exc:
            raise usp.UspError(usp.INVALID_PAYLOAD, synthesis.status("InvalidArgument", "The SSML is not UTF-8.")) from exc
        if self.knobs.socket == "silent":
            self.awaiting = True
            return
        blocked = self.c.gate()
        if blocked:
            raise usp.UspError(websocket.SERVER_ERROR, synthesis.status("Unavailable", blocked[1]))
        self.turn.ssml(document)
        self.end("%d characters synthesised as %s" % (len(synthesis.text_of(document)), self.turn.output_format))
