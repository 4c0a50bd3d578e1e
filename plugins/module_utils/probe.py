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

import base64
import hashlib
import http.client as http_client
import json
import os
import re
import socket
import threading
import time
import uuid

from ansible_collections.onprem.speech.plugins.module_utils import speech_kinds as sk

USER_AGENT = "onprem.speech"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
READY_PATH = "/ready"
STATUS_PATH = "/status"
USAGE_PATH = "/records/usage-logs/"
SYNTHESIS_PATH = "/speech/synthesize/cognitiveservices/v1"
VOICES_PATH = "/cognitiveservices/voices/list"
RECOGNITION_PATH = "/speech/recognition/interactive/cognitiveservices/v1"
LID_PATH = "/"
OUTPUT_FORMAT = "riff-16khz-16bit-mono-pcm"
WAV_HEADER_BYTES = 44
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
    "not_audio": "the synthesis answer is not WAV audio: something other than a neural TTS container answers on {host}:{port}",
    "ws_accept": "the WebSocket handshake is wrong: something other than a speech-to-text container (a proxy?) answers on {host}:{port}",
    "ws_refused": "the recognition endpoint refuses the WebSocket upgrade: not a speech-to-text container on this port, "
                  "or a proxy that drops the Upgrade header",
    "server_error": "the container fails its requests: docker logs {name}",
}

SECRET_PATTERNS = [
    re.compile(r"(?i)((?:api[-_ ]?key|subscription[-_ ]?key|ocp-apim-subscription-key|authorization|access[-_ ]?token|password|token)"
               r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&<>]+"),
    re.compile(r"\b[0-9a-fA-F]{32}\b"),
    re.compile(r"\b[A-Za-z0-9+/_-]{40,}={0,2}"),
]


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


def expected_accept(key):
    """The Sec-WebSocket-Accept a server must answer for a Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode("ascii")).digest()).decode("ascii")


CLOSE_FRAME_PAYLOAD = b"\x03\xe8"  # 1000, normal closure


def _close_frame():
    """A masked WebSocket close frame, as a client must send it."""
    mask = os.urandom(4)
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(CLOSE_FRAME_PAYLOAD))
    return b"\x88" + bytes([0x80 | len(CLOSE_FRAME_PAYLOAD)]) + mask + payload


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

    def websocket(self, host, port, path, timeout=10, key=None):
        """A WebSocket opening handshake; the socket is closed right after the answer."""
        key = key or base64.b64encode(os.urandom(16)).decode("ascii")
        connection = http_client.HTTPConnection(host, port, timeout=timeout)
        headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key,
                   "User-Agent": USER_AGENT, "X-ConnectionId": uuid.uuid4().hex}
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            answer = Answer(response.status, dict(response.getheaders()))
            if response.status == 101:
                answer.accept_ok = answer.headers.get("sec-websocket-accept") == expected_accept(key)
                if connection.sock is not None:
                    try:
                        connection.sock.sendall(_close_frame())
                    except OSError:
                        pass
            else:
                answer.body = response.read(BODY_LIMIT)
            return answer
        except (OSError, http_client.HTTPException) as error:
            kind, words = _failure(error, timeout)
            return Answer(error=words, error_kind=kind)
        finally:
            connection.close()


# ------------------------------------------------------------------ words

def redact(text):
    """The text without anything that looks like a key or token."""
    text = SECRET_PATTERNS[0].sub(lambda m: m.group(1) + "<hidden>", text)
    for pattern in SECRET_PATTERNS[1:]:
        text = pattern.sub("<hidden>", text)
    return text


def excerpt(body, limit=EXCERPT_CHARS):
    """A short one-line, key-free excerpt of an answer's body ("" for none, a note for binary)."""
    if not body:
        return ""
    if body[:4] == b"RIFF":
        return "<%d bytes of RIFF audio>" % len(body)
    text = body[:limit * 4].decode("utf-8", "replace")
    if text.count("\ufffd") > len(text) // 4:
        return "<%d bytes of binary data>" % len(body)
    text = " ".join(redact(text).split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def voice_locale(voice):
    """The locale of a voice name: en-US-AriaNeural -> en-US, zh-CN-sichuan-YunxiNeural -> zh-CN-sichuan."""
    return voice.rsplit("-", 1)[0] if voice and "-" in voice else "en-US"


def ssml(voice):
    return "<speak version='1.0' xml:lang='%s'><voice name='%s'>ready check</voice></speak>" % (voice_locale(voice), voice)


def client_url(target):
    host = target["host"]
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "%s://%s:%d" % (target["protocol"], host, target["port"])


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

class Context(object):
    """One container's ladder: its target, settings, clock and the report being built."""

    def __init__(self, target, settings, clock, sleep, transport):
        self.target = target
        self.settings = settings
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

        In check mode (settings once) it is asked once. Returns the last (verdict, answer)."""
        deadline = self.clock() + window
        while True:
            verdict, answer, delay = attempt()
            if verdict != "wait" or self.settings["once"]:
                return verdict, answer
            now = self.clock()
            if now >= deadline:
                return verdict, answer
            self.sleep(max(0.0, min(max(self.settings["interval"], delay or 0.0), deadline - now)))


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
    return sk.KINDS["ntts"]["default_voice"], "no voice given; tried the default %s" % sk.KINDS["ntts"]["default_voice"]


def probe_ntts(ctx, probe):
    voice, chosen = _voice(ctx)
    headers = {"Content-Type": "application/ssml+xml", "X-Microsoft-OutputFormat": OUTPUT_FORMAT, "Accept": "audio/*"}
    body = ssml(voice).encode("utf-8")

    def attempt():
        answer = ctx.http("POST", SYNTHESIS_PATH, headers=headers, body=body)
        probe["http"] = answer.status
        if answer.error:
            return "wait", answer, 0
        if answer.status == 200 and answer.body[:4] == b"RIFF" and len(answer.body) > WAV_HEADER_BYTES:
            return "pass", answer, 0
        if answer.status in TRANSIENT_HTTP and not _billing_stopped(answer):
            return "wait", answer, 0
        return "fail", answer, 0

    verdict, answer = ctx.poll(attempt, ctx.settings["status_timeout"])
    where = "POST %s%s (voice %s%s)" % (ctx.base, SYNTHESIS_PATH, voice, "; " + chosen if chosen else "")
    if verdict == "pass":
        probe["detail"] = "%s answered 200 with %d bytes of RIFF audio" % (where, len(answer.body))
        return None
    probe["detail"] = "%s %s" % (where, answered(answer))
    text = answer.text()
    if answer.error:
        return ctx.cause("nothing")
    if _billing_stopped(answer):
        return ctx.cause("billing_stopped")
    if answer.status == 500 and "grpc" in text.lower():
        return ctx.cause("grpc")
    if answer.status == 400 and "voice does not match" in text.lower():
        return ctx.cause("voice") + " (set voice to the voice in the image tag, e.g. en-US-AriaNeural)"
    if answer.status == 200:
        return ctx.cause("not_audio")
    if answer.status == 404:
        return ctx.cause("not_speech")
    return ctx.cause("server_error")


def probe_stt(ctx, probe):
    locale = ctx.target.get("locale") or sk.KINDS["stt"]["default_locale"]
    path = "%s?language=%s" % (RECOGNITION_PATH, locale)

    def attempt():
        answer = ctx.transport.websocket(ctx.host, ctx.port, path, timeout=ctx.settings["request_timeout"])
        probe["http"] = answer.status
        if answer.error:
            return "wait", answer, 0
        if answer.status == 101 and answer.accept_ok:
            return "pass", answer, 0
        if answer.status in TRANSIENT_HTTP and not _billing_stopped(answer):
            return "wait", answer, 0
        return "fail", answer, 0

    verdict, answer = ctx.poll(attempt, ctx.settings["status_timeout"])
    where = "WebSocket upgrade at ws%s%s" % (ctx.base[len("http"):], path)
    if verdict == "pass":
        probe["detail"] = "%s answered 101 with the right Sec-WebSocket-Accept" % where
        return None
    if answer.status == 101:
        probe["detail"] = "%s answered 101 with a wrong Sec-WebSocket-Accept" % where
        return ctx.cause("ws_accept")
    probe["detail"] = "%s %s" % (where, answered(answer))
    if answer.error:
        return ctx.cause("nothing")
    if _billing_stopped(answer):
        return ctx.cause("billing_stopped")
    if answer.status is not None and answer.status >= 500:
        return ctx.cause("server_error")
    return ctx.cause("ws_refused")


def probe_lid(ctx, probe):
    def attempt():
        answer = ctx.http("GET", LID_PATH)
        probe["http"] = answer.status
        if answer.error:
            return "wait", answer, 0
        if answer.status == 200:
            return "pass", answer, 0
        if answer.status in TRANSIENT_HTTP and not _billing_stopped(answer):
            return "wait", answer, 0
        return "fail", answer, 0

    verdict, answer = ctx.poll(attempt, ctx.settings["status_timeout"])
    where = "GET %s%s" % (ctx.base, LID_PATH)
    if verdict == "pass":
        probe["detail"] = "%s answered 200" % where
        return None
    probe["detail"] = "%s %s" % (where, answered(answer))
    if answer.error:
        return ctx.cause("nothing")
    if _billing_stopped(answer):
        return ctx.cause("billing_stopped")
    if answer.status == 404:
        return ctx.cause("not_speech")
    return ctx.cause("server_error")


PROBES = {"ntts": probe_ntts, "stt": probe_stt, "custom_stt": probe_stt, "lid": probe_lid}
PROBE_WORDS = {"ntts": "synthesis returned RIFF audio", "stt": "WebSocket upgrade accepted", "custom_stt": "WebSocket upgrade accepted",
               "lid": "GET / answered 200"}


def stage_probe(ctx, report):
    probe = report["probe"]
    if not ctx.settings["probe"]:
        probe["detail"] = "not run (probe is false)"
        return True
    cause = PROBES[ctx.target["kind"]](ctx, probe)
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


DEFAULT_SETTINGS = {"ready_timeout": 300, "status_timeout": 120, "interval": 2.0, "request_timeout": 10, "probe": True, "once": False}


def probe_container(target, settings=None, clock=time.monotonic, sleep=time.sleep, transport=None):
    """The report of one container's ladder."""
    merged = dict(DEFAULT_SETTINGS)
    merged.update(settings or {})
    target = normalize_target(target)
    ctx = Context(target, merged, clock, sleep, transport or Transport())
    report = new_report(target)
    start = clock()
    second = stage_usage if target["disconnected"] else stage_status
    if stage_ready(ctx, report) and second(ctx, report) and stage_probe(ctx, report):
        report["ready"] = True
        parts = ["/ready ready", "usage records answer" if target["disconnected"] else "/status Valid"]
        parts.append(PROBE_WORDS[target["kind"]] if merged["probe"] else "no functional probe (probe is false)")
        report["message"] = "ready: " + ", ".join(parts)
    report["seconds"] = round(clock() - start, 1)
    return report


def probe_all(targets, settings=None, clock=time.monotonic, sleep=time.sleep, transport=None, parallel=True):
    """Every container's report, in the order given; the ladders run at the same time (one thread each)."""
    reports = [None] * len(targets)

    def run(index):
        try:
            reports[index] = probe_container(targets[index], settings, clock, sleep, transport)
        except Exception as error:  # pylint: disable=broad-except
            report = new_report(normalize_target(targets[index]))
            report["message"] = "the probe itself failed: %s: %s" % (type(error).__name__, error)
            reports[index] = report

    if not parallel or len(targets) < 2:
        for index in range(len(targets)):
            run(index)
        return reports
    threads = [threading.Thread(target=run, args=(index,), name="probe-%s" % targets[index].get("name")) for index in range(len(targets))]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join()
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
