"""Test knobs of the USP side, read once at start from the container's environment.

They can be image ENV (baked per tag) or set per container (`docker run -e NAME=value`,
or the env a role lets an operator add); a bad value makes the container refuse to start."""

from .common import StartupError, parse_seconds

DEFAULT_TRANSCRIPT = "This is the speech container emulator."

# EMULATOR_RECOGNIZER value -> RecognitionStatus of the phrase a failing recognizer answers
RECOGNIZER_FAILURES = {
    "error": "Error",
    "bad-request": "BadRequest",
    "forbidden": "Forbidden",
    "too-many-requests": "TooManyRequests",
    "service-unavailable": "ServiceUnavailable",
}
SYNTHESIS_MODES = ("normal", "close-1011")
SOCKET_MODES = ("normal", "silent")


def _choice(environ, name, allowed):
    value = (environ.get(name) or "normal").strip().lower()
    if value not in allowed:
        raise StartupError("%s=%s is not a known value: use one of %s (emulator test knob)." % (name, value, ", ".join(allowed)))
    return value


def _seconds(environ, name, default):
    try:
        value = parse_seconds(environ.get(name), default)
    except ValueError as exc:
        raise StartupError("%s must be a number of seconds or never (emulator test knob)." % name) from exc
    if value <= 0:
        raise StartupError("%s must be more than 0 seconds (emulator test knob)." % name)
    return value


class Knobs:
    """EMULATOR_TRANSCRIPT, EMULATOR_DETECTED_LANGUAGE, EMULATOR_RECOGNIZER, EMULATOR_SYNTHESIS,
    EMULATOR_SOCKET, EMULATOR_USP_IDLE_SECONDS, EMULATOR_USP_MAX_SECONDS."""

    def __init__(self, environ):
        raw = environ.get("EMULATOR_TRANSCRIPT")
        texts = [t.strip() for t in (raw if raw is not None and raw.strip() else DEFAULT_TRANSCRIPT).split("|")]
        if not all(texts):
            raise StartupError("EMULATOR_TRANSCRIPT has an empty phrase: separate phrases with | (emulator test knob).")
        self.transcripts = texts
        self.detected_language = (environ.get("EMULATOR_DETECTED_LANGUAGE") or "").strip() or None
        self.recognizer = _choice(environ, "EMULATOR_RECOGNIZER", ("normal",) + tuple(RECOGNIZER_FAILURES))
        self.synthesis = _choice(environ, "EMULATOR_SYNTHESIS", SYNTHESIS_MODES)
        self.socket = _choice(environ, "EMULATOR_SOCKET", SOCKET_MODES)
        self.idle_seconds = _seconds(environ, "EMULATOR_USP_IDLE_SECONDS", 180)
        self.max_seconds = _seconds(environ, "EMULATOR_USP_MAX_SECONDS", 600)

    @property
    def recognizer_failure(self):
        """The RecognitionStatus a failing recognizer answers, or None."""
        return RECOGNIZER_FAILURES.get(self.recognizer)

    def transcript(self, index):
        """The text of the index-th phrase of a turn (the list repeats)."""
        return self.transcripts[index % len(self.transcripts)]

    def describe(self):
        parts = ["transcript %r" % "|".join(self.transcripts)]
        if self.detected_language:
            parts.append("detected language %s" % self.detected_language)
        for name, value in (("recognizer", self.recognizer), ("synthesis", self.synthesis), ("socket", self.socket)):
            if value != "normal":
                parts.append("%s %s" % (name, value))
        parts.append("USP idle %gs, lifetime %gs" % (self.idle_seconds, self.max_seconds))
        return ", ".join(parts)
