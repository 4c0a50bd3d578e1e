"""probe: the readiness ladder against fake speech containers (real HTTP servers on localhost) and an injected clock."""

import threading

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import probe
from ansible_collections.onprem.speech.plugins.module_utils import usp
from unit_helpers import fake_containers, fake_speech  # noqa: E402  pylint: disable=import-error

fake = fake_speech

FAST = {"ready_timeout": 5, "status_timeout": 5, "interval": 0.01, "request_timeout": 5, "probe": True, "once": False, "probe_deadline": 5}
REPORT_KEYS = {"name", "kind", "url", "ready", "stage", "ready_http", "api_status", "status_http", "probe", "seconds", "message", "likely_cause"}


@pytest.fixture
def container():
    """container(**behaviour) -> (behaviour, port) of a running fake; all stopped afterwards."""
    with fake_containers() as make:
        yield make


def target(name, kind, port, **extra):
    item = {"name": name, "kind": kind, "port": port}
    item.update(extra)
    return item


def run(item, **settings):
    merged = dict(FAST)
    merged.update(settings)
    report = probe.probe_container(item, merged)
    assert set(report) == REPORT_KEYS
    return report


# ------------------------------------------------------------------ words

def test_excerpt_is_short_one_line_and_key_free():
    key = "0123456789abcdef0123456789ABCDEF"
    text = probe.excerpt(("error:\n  ApiKey=%s  Ocp-Apim-Subscription-Key: sekrit-value \"apikey\": \"x1\" " % key).encode() + b"more words " * 40)
    assert key not in text and "sekrit-value" not in text and "x1" not in text
    assert "<hidden>" in text and "\n" not in text and len(text) <= probe.EXCERPT_CHARS
    assert text.endswith("...")
    assert probe.excerpt(b'{"message":"Api Key is valid, no action needed."}') == '{"message":"Api Key is valid, no action needed."}'
    assert probe.excerpt(fake.wav()) == "<6444 bytes of RIFF audio>"
    assert probe.excerpt(bytes(range(256)) * 4).startswith("<1024 bytes of binary")
    assert probe.excerpt(b"") == ""
    long_token = "A" * 84
    assert long_token not in probe.excerpt(("token %s" % long_token).encode())


@pytest.mark.parametrize("voice, locale", [
    ("en-US-AriaNeural", "en-US"), ("de-DE-KatjaNeural", "de-DE"), ("zh-CN-sichuan-YunxiNeural", "zh-CN-sichuan"), (None, "en-US"),
])
def test_voice_locale(voice, locale):
    assert probe.voice_locale(voice) == locale


def test_ssml_names_the_voice_and_its_locale():
    assert usp.ssml("de-DE-KatjaNeural", "ready check") == ("<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' "
                                                            "xml:lang='de-DE'><voice name='de-DE-KatjaNeural'>ready check</voice></speak>")


def test_client_url_and_defaults():
    full = probe.normalize_target({"name": "a", "kind": "stt", "port": 5000, "locale": None})
    assert full["protocol"] == "ws" and full["host"] == "127.0.0.1" and full["disconnected"] is False
    assert probe.client_url(full) == "ws://127.0.0.1:5000"
    assert probe.client_url(probe.normalize_target({"name": "b", "kind": "ntts", "port": 5001, "host": "::1"})) == "http://[::1]:5001"
    assert probe.client_url(probe.normalize_target({"name": "c", "kind": "lid", "port": 5003, "host": "[::1]"})) == "http://[::1]:5003"


# ------------------------------------------------------------------ the ladder, against real servers

def test_stt_ready_after_some_polls(container):
    behaviour, port = container(ready_after=3)
    report = run(target("speech-stt-en-us", "stt", port, locale="en-US"))
    assert report["ready"] is True and report["stage"] is None and report["likely_cause"] is None
    assert report["url"] == "ws://127.0.0.1:%d" % port
    assert (report["ready_http"], report["api_status"], report["status_http"]) == (200, "Valid", 200)
    assert report["probe"]["ok"] is True and report["probe"]["http"] == 101
    assert "answered turn.start, a NoMatch phrase and turn.end" in report["probe"]["detail"]
    assert report["message"] == "ready: /ready ready, /status Valid, a recognition turn answered"
    assert behaviour.counts["/ready"] == 4 and behaviour.counts["/status"] == 1
    upgrade = [r for r in behaviour.requests if r[1].startswith("/speech/recognition/")][0]
    assert upgrade[1] == "/speech/recognition/interactive/cognitiveservices/v1?language=en-US&format=simple"
    headers = dict((k.lower(), v) for k, v in upgrade[2].items())
    assert headers["upgrade"] == "websocket" and headers["sec-websocket-version"] == "13" and len(headers["sec-websocket-key"]) == 24


def test_custom_stt_without_locale_asks_en_us(container):
    behaviour, port = container()
    report = run(target("custom", "custom_stt", port))
    assert report["ready"] is True
    assert [r[1] for r in behaviour.requests if "recognition" in r[1]] == [
        "/speech/recognition/interactive/cognitiveservices/v1?language=en-US&format=simple"]


@pytest.mark.parametrize("value", ["Invalid", "invalid", "valid", "VALID", "Valid ", "NotValid", "Valid,Invalid"])
def test_only_exactly_valid_passes(container, value):
    behaviour, port = container(status=(value,))
    report = run(target("tts", "ntts", port, voice="en-US-AriaNeural"), status_timeout=0.05)
    assert report["ready"] is False and report["stage"] == "status"
    assert report["api_status"] == value
    assert behaviour.counts["/speech/synthesize/cognitiveservices/v1"] == 0


def test_invalid_is_final_and_named(container):
    behaviour, port = container(status=("Invalid",), status_code=401)
    report = run(target("tts", "ntts", port, voice="en-US-AriaNeural"), status_timeout=60)
    assert behaviour.counts["/status"] == 1  # final: not asked again, no waiting
    assert report["status_http"] == 401
    assert report["likely_cause"] == "the API key is not valid for this Speech resource"
    assert report["message"].startswith('GET http://127.0.0.1:%d/status answered 401 "{' % port)
    assert '"apiStatus": "Invalid"' in report["message"]


@pytest.mark.parametrize("value, cause", [
    ("Mismatch", "the key or endpoint belongs to another kind of resource (a multi-service or non-Speech key)"),
    ("OutOfQuota", "out of quota"),
    ("ContainerUseUnauthorized", "not approved"),
])
def test_other_final_statuses(container, value, cause):
    behaviour, port = container(status=(value,))
    report = run(target("stt", "stt", port), status_timeout=60)
    assert behaviour.counts["/status"] == 1
    assert cause in report["likely_cause"]


def test_billing_lag_is_waited_out(container):
    behaviour, port = container(status=("CouldNotConnect", None, "Unknown", "Valid"))
    report = run(target("stt", "stt", port))
    assert report["ready"] is True and behaviour.counts["/status"] == 4


def test_billing_never_reached(container):
    behaviour, port = container(status=("CouldNotConnect",))
    report = run(target("stt", "stt", port), status_timeout=0.1)
    assert report["ready"] is False and report["stage"] == "status" and report["api_status"] == "CouldNotConnect"
    assert report["likely_cause"] == "billing unreachable: the container cannot reach the billing endpoint (egress on 443, DNS, proxy)"
    assert "(waited 0.1s)" in report["message"]
    assert behaviour.counts["/status"] >= 2


def test_status_without_json(container):
    dummy, port = container(status=(None,))
    report = run(target("stt", "stt", port), status_timeout=0.05)
    assert report["api_status"] is None and report["stage"] == "status"
    assert "gives no apiStatus" in report["likely_cause"]
    assert "<html><body>Starting</body></html>" in report["message"]


def test_ntts_synthesis_turn_over_the_sdks_websocket(container):
    behaviour, port = container(service="neuraltexttospeechonprem")
    report = run(target("speech-tts-aria", "ntts", port, voice="en-US-AriaNeural"))
    assert report["ready"] is True and report["url"] == "http://127.0.0.1:%d" % port
    assert report["probe"]["ok"] is True
    assert report["probe"]["detail"] == ("synthesis turn at ws://127.0.0.1:%d/cognitiveservices/websocket/v1 (voice en-US-AriaNeural) "
                                         "answered turn.start, 8000 bytes of audio (0.2 s) and turn.end" % port)
    assert behaviour.counts["/cognitiveservices/websocket/v1"] == 1
    assert behaviour.counts["/speech/synthesize/cognitiveservices/v1"] == 0, "the SDK never uses the REST synthesis; neither does the probe"
    assert report["message"] == "ready: /ready ready, /status Valid, a synthesis turn gave audio"


def test_no_request_carries_a_key(container):
    behaviour, port = container()
    run(target("tts", "ntts", port, voice="en-US-AriaNeural"))
    run(target("stt", "stt", port))
    for dummy, dummy, headers, dummy in behaviour.requests:
        names = set(k.lower() for k in headers)
        assert not names & {"authorization", "ocp-apim-subscription-key", "cookie"}


def test_ntts_grpc_failure(container):
    dummy, port = container(synth="grpc")
    report = run(target("speech-tts-aria", "ntts", port, voice="en-US-AriaNeural"), status_timeout=60)
    assert report["ready"] is False and report["stage"] == "probe"
    assert report["probe"]["ok"] is False and report["probe"]["http"] == 500
    assert "Error starting gRPC call" in report["message"]
    assert report["message"].startswith("synthesis turn at ws://127.0.0.1:%d/cognitiveservices/websocket/v1 (voice en-US-AriaNeural): "
                                        "the WebSocket upgrade was answered 500" % port)
    assert report["likely_cause"] == "the container's internal call failed: a proxy without NO_PROXY=localhost,127.0.0.1, or too little CPU/memory"
    assert (report["api_status"], report["ready_http"]) == ("Valid", 200)


@pytest.mark.parametrize("synth, cause", [
    ("voice", "the voice is not the image's voice (the probe asked for en-US-JennyNeural; set voice to the image's voice)"),
    ("billing", "billing unreachable for too long: the container stopped serving queries"),
    ("html200", "WebSocket endpoint refuses the upgrade"),
    ("header_only", "the synthesis gave too little audio (0 bytes, fewer than 6400)"),
    ((404, b""), "is not a speech container's API"),
])
def test_ntts_probe_causes(container, synth, cause):
    behaviour, port = container(synth=synth)
    report = run(target("tts", "ntts", port, voice="en-US-JennyNeural"), status_timeout=60)
    assert report["stage"] == "probe" and cause in report["likely_cause"], report["likely_cause"]
    assert behaviour.counts["/cognitiveservices/websocket/v1"] == 1


def test_ntts_transient_503_is_asked_again(container):
    behaviour, port = container(synth=(503, b"Service Unavailable"))
    report = run(target("tts", "ntts", port, voice="en-US-AriaNeural"), status_timeout=0.1)
    assert report["stage"] == "probe" and behaviour.counts["/cognitiveservices/websocket/v1"] >= 2
    assert report["likely_cause"].startswith("the container answers 503 to queries")


def test_ntts_without_voice_asks_the_voices_list(container):
    behaviour, port = container(voices=["de-DE-KatjaNeural"])
    report = run(target("tts", "ntts", port))
    assert report["ready"] is True and "voice de-DE-KatjaNeural; from /cognitiveservices/voices/list" in report["probe"]["detail"]
    dummy, port = container(voices=None)
    report = run(target("tts", "ntts", port))
    assert "no voice given; tried the default en-US-AriaNeural" in report["probe"]["detail"]


def test_stt_recognition_turn_with_silence(container):
    behaviour, port = container()
    report = run(target("speech-stt", "stt", port, locale="de-DE"))
    assert report["ready"] is True
    assert report["probe"]["detail"] == ("recognition turn at ws://127.0.0.1:%d/speech/recognition/interactive/cognitiveservices/v1?language=de-DE "
                                         "with 1 s of silence answered turn.start, a NoMatch phrase and turn.end" % port)
    assert [r[1] for r in behaviour.requests if r[1].startswith("/speech/")] == [
        "/speech/recognition/interactive/cognitiveservices/v1?language=de-DE&format=simple"]


@pytest.mark.parametrize("ws, cause", [
    ("wrong", "the WebSocket handshake is wrong"),
    ((404, b"Not Found"), "is not a speech container's API"),
    ((200, b"<html>hello</html>"), "WebSocket endpoint refuses the upgrade"),
    ((503, fake.BILLING_503), "billing unreachable for too long"),
    ((500, b"boom"), "the container fails its requests"),
    ("error", "decoder error: the recognizer failed the turn"),
    ("busy", "busy decoders: every recognition slot is taken (DECODER_MAX_COUNT)"),
    ("silent", "the container accepts the connection but answers nothing"),
])
def test_stt_failures_are_named(container, ws, cause):
    dummy, port = container(ws=ws)
    report = run(target("speech-stt", "stt", port), status_timeout=0.5, probe_deadline=1)
    assert report["ready"] is False and report["stage"] == "probe"
    assert cause in report["likely_cause"], report["likely_cause"]
    assert report["message"].startswith("recognition turn at ws://127.0.0.1:%d/speech/recognition/interactive/cognitiveservices/v1?language=en-US"
                                        % port)


def test_lid_turn_and_its_fallback_path(container):
    behaviour, port = container(service="languagedetection")
    report = run(target("lid", "lid", port))
    assert report["ready"] is True and report["url"] == "http://127.0.0.1:%d" % port
    assert report["probe"]["path"] == "/speech/universal/v2"
    assert "naming en-US" in report["probe"]["detail"]
    dummy, port = container(service="languagedetection", lid_paths=("/speech/languagedetection/cognitiveservices/v1",))
    report = run(target("lid", "lid", port))
    assert report["ready"] is True and report["probe"]["path"] == "/speech/languagedetection/cognitiveservices/v1"
    dummy, port = container(service="languagedetection", lid_paths=())
    report = run(target("lid", "lid", port))
    assert report["stage"] == "probe" and "no language identification path answered" in report["message"]


def test_speech_check_feeds_the_hosts_own_synthesis_to_speech_to_text(container):
    dummy, tts_port = container(service="neuraltexttospeechonprem")
    dummy, stt_port = container(phrase="Success")
    reports = probe.probe_all([target("stt", "stt", stt_port, locale="en-US"), target("tts", "ntts", tts_port, voice="en-US-AriaNeural")],
                              dict(FAST, probe_speech=True))
    assert all(r["ready"] for r in reports), [r["likely_cause"] for r in reports]
    assert "with speech the host's synthesis container made in en-US answered Success" in reports[0]["probe"]["detail"]
    dummy, quiet = container(phrase="NoMatch")
    reports = probe.probe_all([target("stt", "stt", quiet, locale="en-US"), target("tts", "ntts", tts_port, voice="en-US-AriaNeural")],
                              dict(FAST, probe_speech=True, status_timeout=0.1))
    assert reports[0]["stage"] == "probe" and "heard speech and gave no transcript" in reports[0]["likely_cause"]


def test_connection_refused(container):
    port = fake.closed_port()
    report = run(target("speech-stt-en-us", "stt", port), ready_timeout=0.05)
    assert report["ready"] is False and report["stage"] == "ready" and report["ready_http"] is None
    assert report["message"].startswith("GET http://127.0.0.1:%d/ready got no answer: connection refused" % port)
    assert report["likely_cause"] == ("nothing answers on 127.0.0.1:%d: the container is not running or the port is not published "
                                      "(docker logs speech-stt-en-us)" % port)


def test_docker_proxy_hanging_up(container):
    hangup = fake.HangUp()
    try:
        report = run(target("stt", "stt", hangup.port), ready_timeout=0.05)
    finally:
        hangup.close()
    assert report["stage"] == "ready" and "connection closed without an answer" in report["message"]
    assert report["likely_cause"].startswith("nothing answers on 127.0.0.1:%d" % hangup.port)


def test_still_warming_up(container):
    behaviour, port = container(ready_after=10 ** 6)
    report = run(target("custom", "custom_stt", port), ready_timeout=0.1)
    assert report["stage"] == "ready" and report["ready_http"] == 503
    assert report["likely_cause"] == ("still warming up: models page in slowly and custom models download on first start; "
                                      "raise the ready timeout")
    assert '"ready": "notready"' in report["message"] and "(waited 0.1s)" in report["message"]
    assert behaviour.counts["/ready"] >= 2 and behaviour.counts["/status"] == 0


def test_ready_200_but_not_ready_keeps_waiting(container):
    behaviour, port = container(ready_body=(200, {"ready": "notready"}))
    report = run(target("stt", "stt", port), ready_timeout=0.05)
    assert report["stage"] == "ready" and report["ready_http"] == 200 and "warming up" in report["likely_cause"]


def test_wrong_port_answers_404_on_ready(container):
    dummy, port = container(ready_body=(404, b""))
    report = run(target("lid", "lid", port), ready_timeout=60)
    assert report["stage"] == "ready" and "is not a speech container's API" in report["likely_cause"]
    assert "(lid listens on 5003 inside)" in report["likely_cause"]


def test_disconnected_gates_on_usage_records(container):
    behaviour, port = container()
    report = run(target("stt", "stt", port, disconnected=True))
    assert report["ready"] is True and report["api_status"] is None and report["status_http"] == 200
    assert behaviour.counts["/status"] == 0 and behaviour.counts["/records/usage-logs/"] == 1
    assert report["message"] == "ready: /ready ready, usage records answer, a recognition turn answered"
    behaviour, port = container(usage=(500, b"Access to the path '/output/usage' is denied."))
    report = run(target("stt", "stt", port, disconnected=True), status_timeout=0.05)
    assert report["stage"] == "usage" and "/output mount" in report["likely_cause"]
    assert "Access to the path" in report["message"]


def test_probe_false_skips_the_functional_probe(container):
    behaviour, port = container(synth="grpc")
    report = run(target("tts", "ntts", port), probe=False)
    assert report["ready"] is True and report["probe"] == {"ok": None, "http": None, "detail": "not run (probe is false)"}
    assert behaviour.counts["/cognitiveservices/websocket/v1"] == 0


def test_once_asks_each_step_once_without_sleeping(container):
    behaviour, port = container(ready_after=3)
    slept = []
    report = probe.probe_container(target("stt", "stt", port), dict(FAST, once=True, ready_timeout=300), sleep=slept.append)
    assert report["stage"] == "ready" and "waited" not in report["message"]
    assert slept == [] and behaviour.counts["/ready"] == 1


# ------------------------------------------------------------------ an injected clock (no network)

class FakeClock(object):
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class ScriptedTransport(object):
    """Answers from a script: {path: [Answer, ...]} (the last one repeats)."""

    def __init__(self, script):
        self.script = script
        self.calls = []

    def _next(self, path):
        self.calls.append(path)
        answers = self.script[path.split("?")[0]]
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def http(self, host, port, method, path, headers=None, body=None, timeout=10):
        return self._next(path)

    def websocket(self, host, port, path, timeout=10, key=None):
        return self._next(path)


def test_ready_timeout_with_an_injected_clock():
    clock = FakeClock()
    transport = ScriptedTransport({"/ready": [probe.Answer(error="connection refused", error_kind="refused")]})
    report = probe.probe_container(target("stt", "stt", 5000), dict(FAST, ready_timeout=10, interval=2), clock.clock, clock.sleep, transport)
    # The waits start short and double up to the interval; the last one ends at the deadline.
    assert clock.slept == [0.25, 0.5, 1.0, 2, 2, 2, 2, 0.25]
    assert transport.calls == ["/ready"] * 9
    assert report["seconds"] == 10.0 and report["stage"] == "ready"


def test_a_container_that_becomes_ready_soon_is_seen_within_a_fraction_of_the_interval():
    """After a start, the container is usually ready within a second or two: the first polls come fast."""
    clock = FakeClock()
    warming = probe.Answer(503, {}, b'{"ready": "notready"}')
    transport = ScriptedTransport({"/ready": [warming, warming, warming, probe.Answer(200, {}, b'{"ready": "ready"}')],
                                   "/status": [probe.Answer(200, {}, b'{"apiStatus": "Valid"}')]})
    report = probe.probe_container(target("stt", "stt", 5000), dict(FAST, interval=2, probe=False), clock.clock, clock.sleep, transport)
    assert report["ready"] is True
    assert clock.slept == [0.25, 0.5, 1.0]


def test_retry_after_is_honoured():
    clock = FakeClock()
    busy = probe.Answer(200, {"Retry-After": "7"}, b'{"apiStatus": "BillingEndpointBusy"}')
    transport = ScriptedTransport({"/ready": [probe.Answer(200, {}, b'{"ready": "ready"}')],
                                   "/status": [busy, probe.Answer(200, {}, b'{"apiStatus": "Valid"}')],
                                   "/speech/recognition/interactive/cognitiveservices/v1": [probe.Answer(101, accept_ok=True)]})
    report = probe.probe_container(target("stt", "stt", 5000), dict(FAST, interval=2, status_timeout=120, probe=False), clock.clock,
                                   clock.sleep, transport)
    assert report["ready"] is True and clock.slept == [7.0]


def test_busy_billing_that_never_clears():
    clock = FakeClock()
    busy = probe.Answer(200, {"Retry-After": "50"}, b'{"apiStatus": "BillingEndpointBusy"}')
    transport = ScriptedTransport({"/ready": [probe.Answer(200, {}, b'{"ready": "ready"}')], "/status": [busy]})
    report = probe.probe_container(target("stt", "stt", 5000), dict(FAST, status_timeout=120, interval=2), clock.clock, clock.sleep, transport)
    assert clock.slept == [50.0, 50.0, 20.0]  # never past the deadline
    assert report["stage"] == "status" and "stayed busy" in report["likely_cause"]


def test_the_probe_itself_crashing_is_reported_not_raised():
    class Broken(object):
        def http(self, *args, **kwargs):
            raise RuntimeError("boom")

    reports = probe.probe_all([target("a", "stt", 1)], FAST, transport=Broken())
    assert reports[0]["ready"] is False and reports[0]["message"] == "the probe itself failed: RuntimeError: boom"


# ------------------------------------------------------------------ all containers at once

def test_all_containers_are_probed_at_the_same_time(container):
    # Every /ready waits at one barrier: the ladders only pass if all four are in flight together.
    gate = threading.Barrier(4, timeout=10)
    ports = [container(gate=gate, service=s)[1] for s in ("speechtotext", "speechtotext", "languagedetection", "neuraltexttospeechonprem")]
    targets = [target("stt", "stt", ports[0]), target("custom", "custom_stt", ports[1]), target("lid", "lid", ports[2]),
               target("tts", "ntts", ports[3], voice="en-US-AriaNeural")]
    reports = probe.probe_all(targets, FAST)
    assert [r["name"] for r in reports] == ["stt", "custom", "lid", "tts"]
    assert all(r["ready"] for r in reports), [r["message"] for r in reports]
    assert not gate.broken


def test_summary_and_failure_message(container):
    dummy, good = container()
    dummy, invalid = container(status=("Invalid",))
    dummy, grpc = container(synth="grpc")
    refused = fake.closed_port()
    reports = probe.probe_all([target("stt-ok", "stt", good), target("stt-bad-key", "stt", invalid),
                               target("tts", "ntts", grpc, voice="en-US-AriaNeural"), target("gone", "lid", refused)],
                              dict(FAST, ready_timeout=0.05))
    assert probe.summary(reports) == "1 of 4 containers ready"
    assert probe.summary(reports[:1], once=True) == "1 of 1 container ready (check mode: one round of probes, no waiting)"
    lines = probe.failure_message(reports).splitlines()
    assert lines[0] == "3 of 4 speech containers not ready:"
    assert len(lines) == 4
    assert lines[1].startswith("- stt-bad-key (stt, ws://127.0.0.1:%d) at stage status: GET http://127.0.0.1:%d/status answered 200" % (invalid, invalid))
    assert lines[1].endswith("likely cause: the API key is not valid for this Speech resource")
    assert "tts (ntts, http://127.0.0.1:%d) at stage probe" % grpc in lines[2] and "gRPC" in lines[2]
    assert lines[3].startswith("- gone (lid, http://127.0.0.1:%d) at stage ready: GET http://127.0.0.1:%d/ready got no answer: connection refused"
                               % (refused, refused))
    assert "nothing answers on 127.0.0.1:%d" % refused in lines[3]
