# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness ladder of Azure AI Speech containers (the readiness module), standard library only.

Per container, in order:
  1. "ready":  GET /ready answers 200 and its JSON `ready` is "ready" (polled until ready_timeout);
  2. "status": GET /status says apiStatus == "Valid", compared exactly ("Invalid" contains "valid");
     "usage":  for a disconnected container, GET /records/usage-logs/ answers 200 with JSON instead;
  3. "probe":  a real request: a synthesis (ntts), a WebSocket upgrade on the recognition path
     (stt, custom_stt), GET / (lid).

probe_container() runs the ladder of one container with an injected clock, sleep
and transport; probe_all() runs every container's ladder at once in threads, so
one host costs one module call and the slowest container sets the time.
Nothing here sends a key (the containers take none); answers are quoted only
as short excerpts with anything key-like removed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client as http_client
import json
import socket
import threading
import time

from ansible_collections.onprem.speech.plugins.module_utils import speech_kinds as sk
from ansible_collections.onprem.speech.plugins.module_utils import text as textutil
from ansible_collections.onprem.speech.plugins.module_utils import usp

USER_AGENT = "onprem.speech"
READY_PATH = "/ready"
STATUS_PATH = "/status"
USAGE_PATH = "/records/usage-logs/"
VOICES_PATH = "/cognitiveservices/voices/list"
BODY_LIMIT = 4 * 1024 * 1024
EXCERPT_CHARS = 160

# apiStatus values (the containers FAQ). Only "Valid" passes.
STATUS_VALID = "Valid"
STATUS_FINAL = ("Invalid", "Mismatch", "OutOfQuota", "ContainerUseUnauthorized")
STATUS_WAIT = ("CouldNotConnect", "BillingEndpointBusy", "Unknown")
# Answers worth asking again while a window lasts.
TRANSIENT_HTTP = (429, 502, 503, 504)

CAUSES = {
    "nothing": "nothing answers on {host}:{port}: the container is not running or the port is not published (docker logs {name})",
    "warming": "still warming up: models page in slowly and custom models download on first start; raise the ready timeout",
    "not_speech": "what answers on {host}:{port} is not a speech container's API: check which container publishes this port "
                  "({kind} listens on {container_port} inside)",
    "Invalid": "the API key is not valid for this Speech resource",
    "Mismatch": "the key or endpoint belongs to another kind of resource (a multi-service or non-Speech key)",
    "CouldNotConnect": "billing unreachable: the container cannot reach the billing endpoint (egress on 443, DNS, proxy)",
    "BillingEndpointBusy": "the billing endpoint stayed busy (it asks to retry later); try again later or raise the status timeout",
    "OutOfQuota": "the Speech resource is out of quota (the free F0 tier's limit, or a spending limit)",
    "ContainerUseUnauthorized": "the subscription is not approved for this container (gated containers need Microsoft's approval)",
    "Unknown": "the container cannot tell yet whether its key is valid (billing check pending or failing; docker logs {name})",
    "no_api_status": "/status gives no apiStatus: an unexpected image or a proxy answers on {host}:{port}",
    "billing_stopped": "billing unreachable for too long: the container stopped serving queries",
    "grpc": "the container's internal call failed: a proxy without NO_PROXY=localhost,127.0.0.1, or too little CPU/memory",
    "voice": "the voice is not the image's voice",
    "usage": "the container cannot serve its usage records: the /output mount is missing or not writable by the image's user, "
             "or the licence under /license is not valid (docker logs {name})",
    "ws_accept": "the WebSocket handshake is wrong: something other than a speech container (a proxy?) answers on {host}:{port}",
    "ws_refused": "the container's WebSocket endpoint refuses the upgrade: not a speech container of this kind on this port, "
                  "or a proxy that drops the Upgrade header",
    "server_error": "the container fails its requests: docker logs {name}",
}


# ------------------------------------------------------------------ answers and transport

class Answer(object):
    """One request's outcome: an HTTP status, headers and body, or an error (kind and words)."""

    def __init__(self, status=None, headers=None, body=b"", error=None, error_kind=None, accept_ok=None):
        self.status = status
        self.headers = dict((k.lower(), v) for k, v in (headers or {}).items())
        self.body = body or b""
        self.error = error
        self.error_kind = error_kind
        self.accept_ok = accept_ok

    def json(self):
        """The body as JSON, or None."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def text(self):
        return self.body.decode("utf-8", "replace")


def _failure(error, timeout):
    """(kind, words) for a connection-level failure."""
    if isinstance(error, socket.timeout):
        return "timeout", "no answer within %ss" % timeout
    if isinstance(error, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(error, socket.gaierror):
        return "dns", "cannot resolve the host name"
    if isinstance(error, (http_client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "closed", "connection closed without an answer"
    if isinstance(error, http_client.BadStatusLine):
        return "not_http", "the answer is not HTTP"
    if isinstance(error, http_client.HTTPException):
        return "not_http", "a broken HTTP answer (%s)" % type(error).__name__
    return "unreachable", (getattr(error, "strerror", None) or str(error) or type(error).__name__)


class Transport(object):
    """Real requests, one connection each, closed afterwards."""

    def http(self, host, port, method, path, headers=None, body=None, timeout=10):
        connection = http_client.HTTPConnection(host, port, timeout=timeout)
        send = {"User-Agent": USER_AGENT, "Connection": "close"}
        send.update(headers or {})
        try:
            connection.request(method, path, body=body, headers=send)
            response = connection.getresponse()
            data = response.read(BODY_LIMIT)
            return Answer(response.status, dict(response.getheaders()), data)
        except (OSError, http_client.HTTPException) as error:
            kind, words = _failure(error, timeout)
            return Answer(error=words, error_kind=kind)
        finally:
            connection.close()


# ------------------------------------------------------------------ words

def redact(words):
    """The text without anything that looks like a key or token (module_utils/text.py's scrub)."""
    return textutil.scrub(words)


def excerpt(body, limit=EXCERPT_CHARS):
    """A short one-line, key-free excerpt of an answer's body ("" for none, a note for binary)."""
    if not body:
        return ""
    if body[:4] == b"RIFF":
        return "<%d bytes of RIFF audio>" % len(body)
    text = body[:limit * 4].decode("utf-8", "replace")
    if text.count("\ufffd") > len(text) // 4:
        return "<%d bytes of binary data>" % len(body)
    return textutil.excerpt(redact(text), limit)


def voice_locale(voice):
    """The locale of a voice name: en-US-AriaNeural -> en-US, zh-CN-sichuan-YunxiNeural -> zh-CN-sichuan."""
    return voice.rsplit("-", 1)[0] if voice and "-" in voice else "en-US"


def client_url(target):
    return textutil.client_url(target["protocol"], target["host"], target["port"])


def http_base(target):
    return "http" + client_url(target)[len(target["protocol"]):]


def answered(answer):
    """What came back, in a few words: 'answered 503 "{...}"' or 'got no answer: connection refused'."""
    if answer is None:
        return "was not asked"
    if answer.error:
        return "got no answer: %s" % answer.error
    text = excerpt(answer.body)
    return "answered %s%s" % (answer.status, (' "%s"' % text) if text else "")


# ------------------------------------------------------------------ the ladder

# The first wait between two polls of the same endpoint; each next one doubles, up to the interval.
FIRST_WAIT = 0.25


class Context(object):
    """One container's ladder: its target, settings, clock and the report being built."""

    def __init__(self, target, settings, clock, sleep, transport, synthesized=None):
        self.target = target
        self.settings = settings
        # Audio the host's synthesis containers made, by locale (the stronger recognition check feeds it to speech to text).
        self.synthesized = synthesized if synthesized is not None else {}
        self.clock = clock
        self.sleep = sleep
        self.transport = transport
        self.host = target["host"]
        self.port = target["port"]
        self.base = http_base(target)

    def cause(self, key):
        kind = self.target["kind"]
        return CAUSES[key].format(host=self.host, port=self.port, name=self.target["name"], kind=kind,
                                  container_port=sk.KINDS[kind]["container_port"])

    def http(self, method, path, headers=None, body=None):
        return self.transport.http(self.host, self.port, method, path, headers=headers, body=body, timeout=self.settings["request_timeout"])

    def poll(self, attempt, window):
        """attempt() -> (verdict, answer, delay) with verdict "pass", "fail" or "wait"; asked again while "wait" and the window lasts.

        In check mode (settings once) it is asked once. Returns the last (verdict, answer).

        The waits between attempts start at FIRST_WAIT and double up to the interval: a container that is nearly
        ready (the usual case after a start) is seen within a fraction of a second, a slow one is asked every
        interval seconds. A delay the answer asks for (Retry-After) is kept."""
        deadline = self.clock() + window
        wait = min(FIRST_WAIT, self.settings["interval"])
        while True:
            verdict, answer, delay = attempt()
            if verdict != "wait" or self.settings["once"]:
                return verdict, answer
            now = self.clock()
            if now >= deadline:
                return verdict, answer
            self.sleep(max(0.0, min(max(wait, delay or 0.0), deadline - now)))
            wait = min(wait * 2, self.settings["interval"])


def _billing_stopped(answer):
    return answer is not None and answer.status == 503 and "billing" in answer.text().lower()


def _connection_cause(ctx, answer):
    return ctx.cause("nothing") if answer is not None and answer.error else None


def _retry_after(answer):
    try:
        return float(answer.headers.get("retry-after"))
    except (TypeError, ValueError):
        return 0.0


def stage_ready(ctx, report):
    def attempt():
        answer = ctx.http("GET", READY_PATH)
        report["ready_http"] = answer.status
        if answer.error:
            return "wait", answer, 0
        data = answer.json()
        if answer.status == 200 and isinstance(data, dict) and data.get("ready") == "ready":
            return "pass", answer, 0
        if answer.status == 404:
            return "fail", answer, 0
        return "wait", answer, 0

    verdict, answer = ctx.poll(attempt, ctx.settings["ready_timeout"])
    if verdict == "pass":
        return True
    report["stage"] = "ready"
    waited = "" if ctx.settings["once"] else " (waited %ss)" % ctx.settings["ready_timeout"]
    report["message"] = "GET %s%s %s%s" % (ctx.base, READY_PATH, answered(answer), waited if verdict == "wait" else "")
    if answer.error:
        report["likely_cause"] = ctx.cause("nothing")
    elif answer.status == 404:
        report["likely_cause"] = ctx.cause("not_speech")
    elif _billing_stopped(answer):
        report["likely_cause"] = ctx.cause("billing_stopped")
    else:
        report["likely_cause"] = ctx.cause("warming")
    return False


def stage_status(ctx, report):
    def attempt():
        answer = ctx.http("GET", STATUS_PATH)
        report["status_http"] = answer.status
        if answer.error:
            return "wait", answer, 0
        data = answer.json()
        value = data.get("apiStatus") if isinstance(data, dict) else None
        report["api_status"] = value if isinstance(value, str) else None
        # Exactly "Valid": a substring or case-insensitive test would take "Invalid" for valid.
        if answer.status == 200 and value == STATUS_VALID:
            return "pass", answer, 0
        if value in STATUS_FINAL:
            return "fail", answer, 0
        if value == "BillingEndpointBusy":
            return "wait", answer, _retry_after(answer)
        return "wait", answer, 0

    verdict, answer = ctx.poll(attempt, ctx.settings["status_timeout"])
    if verdict == "pass":
        return True
    report["stage"] = "status"
    value = report["api_status"]
    waited = " (waited %ss)" % ctx.settings["status_timeout"] if verdict == "wait" and not ctx.settings["once"] else ""
    report["message"] = "GET %s%s %s%s" % (ctx.base, STATUS_PATH, answered(answer), waited)
    if answer.error:
        report["likely_cause"] = ctx.cause("nothing")
    elif value in CAUSES:
        report["likely_cause"] = ctx.cause(value)
    elif _billing_stopped(answer):
        report["likely_cause"] = ctx.cause("billing_stopped")
    elif value is None:
        report["likely_cause"] = ctx.cause("no_api_status")
    else:
        report["likely_cause"] = "apiStatus %s is not Valid: docker logs %s" % (excerpt(value.encode("utf-8"), 40), ctx.target["name"])
    return False


def stage_usage(ctx, report):
    def attempt():
        answer = ctx.http("GET", USAGE_PATH, headers={"Accept": "application/json"})
        report["status_http"] = answer.status
        if answer.error:
            return "wait", answer, 0
        if answer.status == 200 and answer.json() is not None:
            return "pass", answer, 0
        return "wait", answer, 0

    verdict, answer = ctx.poll(attempt, ctx.settings["status_timeout"])
    if verdict == "pass":
        return True
    report["stage"] = "usage"
    waited = "" if ctx.settings["once"] else " (waited %ss)" % ctx.settings["status_timeout"]
    report["message"] = "GET %s%s %s%s" % (ctx.base, USAGE_PATH, answered(answer), waited)
    report["likely_cause"] = _connection_cause(ctx, answer) or ctx.cause("usage")
    return False


def _voice(ctx):
    """(voice, how it was chosen): the target's, else the container's voices list, else the kinds table's default."""
    if ctx.target.get("voice"):
        return ctx.target["voice"], None
    answer = ctx.http("GET", VOICES_PATH)
    data = answer.json() if answer.status == 200 else None
    if isinstance(data, list):
        for entry in data:
            if isinstance(entry, dict) and isinstance(entry.get("ShortName"), str):
                return entry["ShortName"], "from %s" % VOICES_PATH
    default = sk.KINDS[ctx.target["kind"]].get("default_voice")
    return default, "no voice given; tried the default %s" % default


SILENCE = b"\x00" * 32000  # 1 s of 16 kHz 16-bit mono PCM: the recognizer runs, and answers NoMatch or InitialSilenceTimeout
PROBE_TEXT = "Ready check. The speech service answers."
LID_CANDIDATES = ["en-US", "de-DE"]


def _usp_cause(ctx, failure, voice=None):
    """The likely cause of a USP exchange that failed, in the operator's words."""
    words = failure.words.lower()
    if failure.kind == "nothing":
        return ctx.cause("nothing")
    if failure.kind == "upgrade":
        if failure.status == 404:
            return ctx.cause("not_speech")
        if failure.status == 500 and "grpc" in words:
            return ctx.cause("grpc")
        if failure.status in (401, 403):
            return "the container refuses queries: billing refused its key (docker logs %s)" % ctx.target["name"]
        if failure.status == 503 and "billing" in words:
            return ctx.cause("billing_stopped")
        if failure.status in (429, 503):
            return "the container answers %s to queries: busy (DECODER_MAX_COUNT) or not ready yet (docker logs %s)" % (
                failure.status, ctx.target["name"])
        if failure.status is not None and failure.status >= 500:
            return ctx.cause("server_error")
        return ctx.cause("ws_refused")
    if failure.kind in ("ws_accept", "not_ws"):
        return ctx.cause("ws_accept")
    if failure.kind == "closed_code":
        if failure.code == 1007 and "voice does not match" in words:
            return ctx.cause("voice") + " (the probe asked for %s; set voice to the image's voice)" % voice
        if failure.code == 1007 and "locale" in words:
            return "the container does not serve the locale the probe asked for (set locale to the image's locale)"
        if failure.code == 1011:
            return "the container failed the request (1011): " + ctx.cause("grpc")
        return "the container ended the exchange (docker logs %s)" % ctx.target["name"]
    if failure.kind == "silent":
        return ("the container accepts the connection but answers nothing: a hung recognizer or synthesizer, or something "
                "other than a speech container on this port (docker logs %s)" % ctx.target["name"])
    if failure.kind == "status_Error":
        return "decoder error: the recognizer failed the turn (too little CPU or memory, or a proxy without NO_PROXY; docker logs %s)" % ctx.target["name"]
    if failure.kind == "status_TooManyRequests":
        return "busy decoders: every recognition slot is taken (DECODER_MAX_COUNT)"
    if failure.kind in ("status_ServiceUnavailable", "status_Forbidden"):
        return ctx.cause("billing_stopped")
    if failure.kind == "status_BadRequest":
        return "the recognizer refused the probe's request (BadRequest): the locale or audio format (docker logs %s)" % ctx.target["name"]
    return "the answer is not what the Speech SDK needs (%s): something other than a speech container, or an incompatible one" % failure.words


TRANSIENT_FAILURES = ("status_TooManyRequests",)


def _usp_poll(ctx, probe, exchange, where):
    """Run exchange() until it passes, fails for good, or status_timeout ends; (result, failure)."""
    state = {}

    def attempt():
        deadline = ctx.clock() + ctx.settings["probe_deadline"]
        try:
            state["result"] = exchange(deadline)
            state["failure"] = None
            probe["http"] = 101
            return "pass", None, 0
        except usp.Failure as failure:
            state["failure"] = failure
            probe["http"] = failure.status
            transient = failure.kind in TRANSIENT_FAILURES or failure.kind == "nothing" or (
                failure.kind == "upgrade" and failure.status in (429, 502, 503, 504) and "billing" not in failure.words.lower())
            return ("wait" if transient else "fail"), None, 0

    ctx.poll(attempt, ctx.settings["status_timeout"])
    failure = state.get("failure")
    if failure is not None:
        probe["detail"] = "%s: %s" % (where, redact(failure.words))
    return state.get("result"), failure


def probe_recognition(ctx, probe):
    locale = ctx.target.get("locale") or sk.KINDS[ctx.target["kind"]].get("default_locale") or sk.PROBE_LOCALE
    where = "recognition turn at ws%s%s?language=%s" % (ctx.base[len("http"):], "/speech/recognition/interactive/cognitiveservices/v1", locale)
    audio, source = SILENCE, "1 s of silence"
    if ctx.settings.get("probe_speech"):
        made = ctx.synthesized.get(locale) or ctx.synthesized.get(locale.lower())
        if made:
            audio, source = made, "speech the host's synthesis container made in %s" % locale
        else:
            source = "1 s of silence (no synthesis container in %s on this host to make speech, so no transcript asked)" % locale
    phrase, failure = _usp_poll(ctx, probe, lambda deadline: usp.recognize(ctx.host, ctx.port, locale, audio, deadline, clock=ctx.clock), where)
    if failure is not None:
        return _usp_cause(ctx, failure)
    status = phrase.get("RecognitionStatus")
    text = phrase.get("DisplayText") or ""
    if ctx.settings.get("probe_speech") and source.startswith("speech"):
        if status != "Success" or not text.strip():
            probe["detail"] = "%s with %s answered %s with no text" % (where, source, status)
            return "the recognizer heard speech and gave no transcript: the model does not recognize %s (docker logs %s)" % (
                locale, ctx.target["name"])
        probe["detail"] = "%s with %s answered Success: %s" % (where, source, excerpt(text.encode("utf-8"), 60))
        return None
    probe["detail"] = "%s with %s answered turn.start, a %s phrase and turn.end" % (where, source, status)
    return None


def probe_synthesis(ctx, probe):
    voice, chosen = _voice(ctx)
    where = "synthesis turn at ws%s/cognitiveservices/websocket/v1 (voice %s%s)" % (ctx.base[len("http"):], voice, "; " + chosen if chosen else "")
    audio, failure = _usp_poll(ctx, probe, lambda deadline: usp.synthesize(ctx.host, ctx.port, voice, PROBE_TEXT, deadline, clock=ctx.clock),
                               where)
    if failure is not None:
        return _usp_cause(ctx, failure, voice)
    if len(audio) < MIN_AUDIO_BYTES:
        probe["detail"] = "%s answered only %d bytes of audio" % (where, len(audio))
        return "the synthesis gave too little audio (%d bytes, fewer than %d): docker logs %s" % (len(audio), MIN_AUDIO_BYTES, ctx.target["name"])
    probe["detail"] = "%s answered turn.start, %d bytes of audio (%.1f s) and turn.end" % (where, len(audio), len(audio) / 32000.0)
    ctx.synthesized[voice_locale(voice)] = audio
    ctx.synthesized[voice_locale(voice).lower()] = audio
    return None


def probe_language_id(ctx, probe):
    where = "language identification turn at ws%s" % ctx.base[len("http"):]
    result, failure = _usp_poll(ctx, probe, lambda deadline: usp.identify(ctx.host, ctx.port, LID_CANDIDATES, SILENCE, deadline,
                                                                          clock=ctx.clock), where)
    if failure is not None:
        return _usp_cause(ctx, failure)
    phrase, path = result
    probe["path"] = path
    language = (phrase.get("PrimaryLanguage") or {}).get("Language")
    probe["detail"] = "%s%s answered a %s phrase%s (path %s)" % (where, path, phrase.get("RecognitionStatus"),
                                                                 " naming %s" % language if language else "", path)
    return None


MIN_AUDIO_BYTES = 6400  # 0.2 s of 16 kHz 16-bit mono PCM
PROBES = {"recognition": probe_recognition, "synthesis": probe_synthesis, "language_id": probe_language_id}
PROBE_WORDS = {"recognition": "a recognition turn answered", "synthesis": "a synthesis turn gave audio",
               "language_id": "a language identification turn answered"}


def stage_probe(ctx, report):
    probe = report["probe"]
    if not ctx.settings["probe"]:
        probe["detail"] = "not run (probe is false)"
        return True
    cause = PROBES[sk.KINDS[ctx.target["kind"]]["probe"]](ctx, probe)
    probe["ok"] = cause is None
    if cause is None:
        return True
    report["stage"] = "probe"
    report["message"] = probe["detail"]
    report["likely_cause"] = cause
    return False


def new_report(target):
    return {
        "name": target["name"],
        "kind": target["kind"],
        "url": client_url(target),
        "ready": False,
        "stage": None,
        "ready_http": None,
        "api_status": None,
        "status_http": None,
        "probe": {"ok": None, "http": None, "detail": "not run"},
        "seconds": 0.0,
        "message": None,
        "likely_cause": None,
    }


def normalize_target(target):
    """A target with every key: protocol from the kinds table, host 127.0.0.1, disconnected false."""
    kind = target["kind"]
    full = {"host": "127.0.0.1", "protocol": None, "locale": None, "voice": None, "disconnected": False}
    full.update(dict((k, v) for k, v in target.items() if v is not None))
    full["protocol"] = full["protocol"] or sk.KINDS[kind]["protocol"]
    full["host"] = full["host"].strip("[]") if full["host"].startswith("[") else full["host"]
    return full


DEFAULT_SETTINGS = {"ready_timeout": 300, "status_timeout": 120, "interval": 2.0, "request_timeout": 10, "probe": True, "once": False,
                    "probe_deadline": 15, "probe_speech": False}


def probe_container(target, settings=None, clock=time.monotonic, sleep=time.sleep, transport=None, synthesized=None):
    """The report of one container's ladder."""
    merged = dict(DEFAULT_SETTINGS)
    merged.update(settings or {})
    target = normalize_target(target)
    ctx = Context(target, merged, clock, sleep, transport or Transport(), synthesized)
    report = new_report(target)
    start = clock()
    second = stage_usage if target["disconnected"] else stage_status
    if stage_ready(ctx, report) and second(ctx, report) and stage_probe(ctx, report):
        report["ready"] = True
        parts = ["/ready ready", "usage records answer" if target["disconnected"] else "/status Valid"]
        parts.append(PROBE_WORDS[sk.KINDS[target["kind"]]["probe"]] if merged["probe"] else "no functional probe (probe is false)")
        report["message"] = "ready: " + ", ".join(parts)
    report["seconds"] = round(clock() - start, 1)
    return report


def probe_all(targets, settings=None, clock=time.monotonic, sleep=time.sleep, transport=None, parallel=True):
    """Every container's report, in the order given; the ladders run at the same time (one thread each).

    With probe_speech, the synthesis containers go first, so that speech to text can be fed the speech they made."""
    reports = [None] * len(targets)
    synthesized = {}

    def run(index):
        try:
            reports[index] = probe_container(targets[index], settings, clock, sleep, transport, synthesized)
        except Exception as error:  # pylint: disable=broad-except
            report = new_report(normalize_target(targets[index]))
            report["message"] = "the probe itself failed: %s: %s" % (type(error).__name__, error)
            reports[index] = report

    def run_all(indexes):
        if not parallel or len(indexes) < 2:
            for index in indexes:
                run(index)
            return
        threads = [threading.Thread(target=run, args=(index,), name="probe-%s" % targets[index].get("name")) for index in indexes]
        for thread in threads:
            thread.daemon = True
            thread.start()
        for thread in threads:
            thread.join()

    everyone = list(range(len(targets)))
    if (settings or {}).get("probe_speech"):
        first = [i for i in everyone if sk.KINDS[targets[i]["kind"]]["probe"] == "synthesis"]
        run_all(first)
        run_all([i for i in everyone if i not in first])
    else:
        run_all(everyone)
    return reports


def summary(reports, once=False):
    ready = sum(1 for r in reports if r["ready"])
    return "%d of %d container%s ready%s" % (ready, len(reports), "" if len(reports) == 1 else "s",
                                             " (check mode: one round of probes, no waiting)" if once else "")


def failure_message(reports):
    """One line per container that is not ready: name, endpoint and answer, likely cause."""
    failed = [r for r in reports if not r["ready"]]
    lines = ["%d of %d speech containers not ready:" % (len(failed), len(reports))]
    for report in failed:
        lines.append("- %s (%s, %s) at stage %s: %s; likely cause: %s" % (
            report["name"], report["kind"], report["url"], report["stage"] or "?", report["message"] or "no answer",
            report["likely_cause"] or "unknown (docker logs %s)" % report["name"]))
    return "\n".join(lines)
