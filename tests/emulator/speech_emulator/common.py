"""Constants and small helpers shared by every part of the emulator."""

import datetime
import math

MODELS_DIR = "/usr/local/models"
VALID_MESSAGE = "Api Key is valid, no action needed."

KINDS = {
    "stt": {
        "service": "speechtotext",
        "port": 5000,
        "title": "Speech to text",
        "meter": "SpeechToText.Sessions",
        "unit": "Sessions",
        "disconnected": True,
        "usp": "recognition",
    },
    "custom_stt": {
        "service": "customspeechtotext",
        "port": 5000,
        "title": "Custom speech to text",
        "meter": "CustomSpeechToText.Sessions",
        "unit": "Sessions",
        "disconnected": True,
        "usp": "recognition",
    },
    "lid": {
        "service": "languagedetection",
        "port": 5003,
        "title": "Speech language identification",
        "meter": "LanguageDetection.Sessions",
        "unit": "Sessions",
        "disconnected": False,
        "usp": "language",
    },
    "ntts": {
        "service": "neuraltexttospeechonprem",
        "port": 5000,
        "title": "Neural text to speech",
        "meter": "NeuralTextToSpeech.Characters",
        "unit": "Characters",
        "disconnected": True,
        "usp": "synthesis",
    },
    "diagnostic": {
        "service": "diagnostic",
        "port": None,
        "title": "Diagnostic container",
        "meter": None,
        "unit": None,
        "disconnected": False,
        "usp": None,
    },
}
RECOGNITION_PATHS = tuple("/speech/recognition/%s/cognitiveservices/v1" % mode for mode in ("interactive", "conversation", "dictation"))
# REST synthesis (ntts); the Speech SDK synthesises over WebSocket (synthesis.WS_PATHS).
SYNTH_PATHS = ("/speech/synthesize/cognitiveservices/v1", "/cognitiveservices/v1")

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
