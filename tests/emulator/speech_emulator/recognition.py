"""A recognition turn (speech to text, and language identification, which runs the same exchange).

Client: speech.context (starts the turn), audio with a RIFF header, audio of raw PCM, an empty
audio message (end of audio). Service: turn.start, speech.startDetected, speech.hypothesis,
speech.endDetected, speech.phrase, turn.end, all with the turn's X-RequestId.

The emulator's recognizer finds sound by energy (audio.SpeechDetector): each segment of sound
is a phrase whose text is the container's transcript (EMULATOR_TRANSCRIPT). Silence gives
no phrase text: NoMatch at the end of audio, or InitialSilenceTimeout (interactive mode) when
silence lasts the initial silence timeout."""

import re
import urllib.parse
import uuid

from . import audio, language_id

MODES = ("interactive", "conversation", "dictation")
DEFAULT_END_SILENCE_MS = 500
DEFAULT_INITIAL_SILENCE_MS = 5000
INTERACTIVE_MAX_MS = 15000  # interactive (recognize once) takes at most 15 s of speech [AD:stt-query]


def _int(value):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _query(query):
    return {k.lower(): v[-1] for k, v in urllib.parse.parse_qs(query or "").items()}


def lexical(text):
    """The lexical form: lower case, no punctuation."""
    return " ".join(re.sub(r"[^\w\s'-]", " ", text.lower()).split())


class Options:
    """What the client asked for, from the query and speech.context."""

    def __init__(self, mode, query, context):
        q = _query(query)
        detection = context.get("phraseDetection") if isinstance(context.get("phraseDetection"), dict) else {}
        output = context.get("phraseOutput") if isinstance(context.get("phraseOutput"), dict) else {}
        language_config = context.get("languageId") if isinstance(context.get("languageId"), dict) else {}
        self.mode = mode
        self.continuous = mode != "interactive" or str(language_config.get("mode", "")).lower() == "detectcontinuous"
        segmentation = None
        for key, value in detection.items():
            if isinstance(value, dict) and isinstance(value.get("segmentation"), dict) and key.lower() == str(detection.get("mode", mode)).lower():
                segmentation = value["segmentation"]
        self.end_silence_ms = (
            _int((segmentation or {}).get("segmentationSilenceTimeoutMs"))
            or _int(q.get("segmentationsilencetimeoutms"))
            or _int(q.get("endsilencetimeoutms"))
            or DEFAULT_END_SILENCE_MS
        )
        self.initial_silence_ms = _int(detection.get("initialSilenceTimeout")) or _int(q.get("initialsilencetimeoutms")) or DEFAULT_INITIAL_SILENCE_MS
        self.detailed = str(output.get("format", q.get("format", ""))).lower() == "detailed"
        options = (output.get("detailed") or {}).get("options") if isinstance(output.get("detailed"), dict) else None
        self.word_timings = "WordTimings" in (options or []) or q.get("wordleveltimestamps", "").lower() == "true"
        self.language = str(detection.get("language") or q.get("language") or "").strip() or None
        # Language identification only (SourceLanguageRecognizer): phraseDetection mode None.
        self.text = str(detection.get("mode", "")).lower() != "none"


class RecognitionTurn:
    """One turn. send(path, body) sends a text message with the turn's request id; meter() counts the turn."""

    def __init__(self, send, options, transcript, lid=None, text=True, failure=None, meter=None):
        self.send = send
        self.options = options
        self.transcript = transcript  # index -> text
        self.lid = lid  # the detected language when identification was asked, else None
        self.with_text = text and options.text
        self.failure = failure
        self.meter = meter
        self.detector = None
        self.started = False  # turn.start sent
        self.done = False  # turn.end sent
        self.end_of_audio = False
        self.phrases = 0
        self.statuses = []
        self.start_detected = False

    # ---- input

    def audio(self, body, first):
        """One audio message's body; first is the turn's first audio message (with the RIFF header).

        Raises audio.AudioFormatError when the first message has no usable RIFF header."""
        if self.done:
            return
        if first:
            end_of_audio = not body
            fmt, body = audio.parse_riff(body) if body else ({"rate": 16000}, b"")
            max_ms = None if self.options.continuous else INTERACTIVE_MAX_MS
            self.detector = audio.SpeechDetector(fmt["rate"], self.options.end_silence_ms, max_ms)
            self.turn_start()
            if self.failure:
                self.phrase_message({"RecognitionStatus": self.failure, "Offset": 0, "Duration": 0})
                self.turn_end(metered=False)
                return
            if end_of_audio:
                self.finish()
                return
            if not body:
                return
        elif not body:
            self.finish()
            return
        self.handle(self.detector.feed(body))
        if not self.done and not self.options.continuous and not self.start_detected and self.detector.state == "quiet":
            if self.detector.position * 1000 // self.detector.rate >= self.options.initial_silence_ms:
                self.phrase_message({"RecognitionStatus": "InitialSilenceTimeout", "Offset": self.detector.ticks(self.detector.position), "Duration": 0})
                self.turn_end()

    def finish(self):
        """End of audio (an empty audio message)."""
        self.end_of_audio = True
        self.handle(self.detector.finish())
        if self.done:
            return
        if not self.phrases:
            self.phrase_message({"RecognitionStatus": "NoMatch", "Offset": 0, "Duration": self.detector.ticks(self.detector.position)})
        if self.start_detected:
            self.send("speech.endDetected", {"Offset": self.detector.ticks(self.detector.position)})
        self.turn_end()

    # ---- output

    def turn_start(self):
        if not self.started:
            self.started = True
            self.send("turn.start", {"context": {"serviceTag": _service_tag()}})

    def turn_end(self, metered=True):
        if not self.done:
            self.done = True
            self.send("turn.end", None)
            if metered and self.meter:
                self.meter()

    def phrase_message(self, body):
        self.phrases += 1
        self.statuses.append(body["RecognitionStatus"])
        self.send("speech.phrase", body)

    def handle(self, events):
        for event in events:
            if self.done:
                return
            if event[0] == "start":
                if not self.start_detected or not self.options.continuous:
                    self.start_detected = True
                    self.send("speech.startDetected", {"Offset": self.detector.ticks(event[1])})
                self.hypothesis(event[1], event[1] + self.detector.min_speech)
            elif event[0] == "progress":
                self.hypothesis(event[1], event[2])
            elif event[0] == "end":
                if not self.options.continuous:
                    self.send("speech.endDetected", {"Offset": self.detector.ticks(event[2])})
                self.phrase(event[1], event[2])
                if not self.options.continuous:
                    self.turn_end()

    def hypothesis(self, start, now):
        body = {"Offset": self.detector.ticks(start), "Duration": self.detector.ticks(now - start)}
        if self.with_text:
            words = lexical(self.transcript(self.phrases)).split()
            spoken = (now - start) * 1000 // self.detector.rate
            body["Text"] = " ".join(words[: max(1, min(len(words), 1 + spoken // 300))])
        else:
            body["Text"] = ""
        if self.lid:
            body["PrimaryLanguage"] = language_id.primary_language(self.lid)
        self.send("speech.hypothesis", body)

    def phrase(self, start, end):
        offset, duration = self.detector.ticks(start), self.detector.ticks(end - start)
        body = {"RecognitionStatus": "Success", "Offset": offset, "Duration": duration}
        text = self.transcript(self.phrases) if self.with_text else ""
        body["DisplayText"] = text
        if self.lid:
            body["PrimaryLanguage"] = language_id.primary_language(self.lid)
        if self.options.detailed and self.with_text:
            lex = lexical(text)
            best = {"Confidence": 0.93, "Lexical": lex, "ITN": lex, "MaskedITN": lex, "Display": text}
            if self.options.word_timings:
                words = lex.split()
                step = duration // max(1, len(words))
                best["Words"] = [{"Word": w, "Offset": offset + i * step, "Duration": step, "Confidence": 0.93} for i, w in enumerate(words)]
            body["NBest"] = [best]
        self.phrase_message(body)


def _service_tag():
    return uuid.uuid4().hex.upper()
