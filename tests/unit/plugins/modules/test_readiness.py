"""readiness main() against fake speech containers: real HTTP servers on free localhost ports."""

import json
import threading
from unittest import mock

import pytest

from ansible_collections.onprem.speech.plugins.modules import readiness
from unit_helpers import fake_containers, fake_speech, patch_module_args  # noqa: E402  pylint: disable=import-error


fake = fake_speech

FAST = {"ready_timeout": 5, "status_timeout": 5, "interval": 0.01, "request_timeout": 5}


@pytest.fixture
def container():
    """container(**behaviour) -> (behaviour, port) of a running fake; all stopped afterwards."""
    with fake_containers() as make:
        yield make


def run(args, capsys):
    """main() with these arguments; (exit code, parsed result)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            readiness.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_every_kind_ready_in_one_call(container, capsys):
    gate = threading.Barrier(4, timeout=10)  # the four /ready requests must be in flight together
    stt, stt_port = container(ready_after=2, gate=gate)
    custom, custom_port = container(gate=gate)
    lid, lid_port = container(service="languagedetection", gate=gate)
    tts, tts_port = container(service="neuraltexttospeechonprem", gate=gate)
    containers = [
        {"name": "speech-stt-en-us", "kind": "stt", "port": stt_port, "locale": "en-US"},
        {"name": "speech-custom", "kind": "custom_stt", "port": custom_port, "locale": "de-DE"},
        {"name": "speech-lid", "kind": "lid", "port": lid_port},
        {"name": "speech-tts-aria", "kind": "ntts", "port": tts_port, "voice": "en-US-AriaNeural", "host": "127.0.0.1"},
    ]
    code, out = run(dict(FAST, containers=containers), capsys)
    assert code == 0, out
    assert out["changed"] is False and out["all_ready"] is True
    assert out["summary"] == "4 of 4 containers ready"
    assert [c["name"] for c in out["containers"]] == ["speech-stt-en-us", "speech-custom", "speech-lid", "speech-tts-aria"]
    assert [c["url"] for c in out["containers"]] == ["ws://127.0.0.1:%d" % stt_port, "ws://127.0.0.1:%d" % custom_port,
                                                     "http://127.0.0.1:%d" % lid_port, "http://127.0.0.1:%d" % tts_port]
    assert [c["probe"]["http"] for c in out["containers"]] == [101, 101, 101, 101]
    assert stt.counts["/ready"] == 3
    assert "language=de-DE" in [r[1] for r in custom.requests if "recognition" in r[1]][0]
    assert tts.counts["/cognitiveservices/websocket/v1"] == 1 and lid.counts["/speech/universal/v2"] == 1


def test_failures_are_listed_one_per_line_and_the_report_is_kept(container, capsys):
    dummy, good = container()
    dummy, invalid = container(status=("Invalid",))
    dummy, grpc = container(synth="grpc")
    dummy, wrong_ws = container(ws="wrong")
    refused = fake.closed_port()
    containers = [
        {"name": "speech-stt-ok", "kind": "stt", "port": good},
        {"name": "speech-stt-badkey", "kind": "stt", "port": invalid},
        {"name": "speech-tts-aria", "kind": "ntts", "port": grpc, "voice": "en-US-AriaNeural"},
        {"name": "speech-stt-proxy", "kind": "stt", "port": wrong_ws},
        {"name": "speech-lid", "kind": "lid", "port": refused},
    ]
    code, out = run(dict(FAST, containers=containers, ready_timeout=0), capsys)
    assert code == 1 and out["failed"] is True
    assert out["all_ready"] is False and out["summary"] == "1 of 5 containers ready"
    assert [c["ready"] for c in out["containers"]] == [True, False, False, False, False]
    assert [c["stage"] for c in out["containers"]] == [None, "status", "probe", "probe", "ready"]
    lines = out["msg"].splitlines()
    assert lines[0] == "4 of 5 speech containers not ready:"
    assert len(lines) == 5
    badkey, tts, proxy, lid = lines[1:]
    assert badkey.startswith("- speech-stt-badkey (stt, ws://127.0.0.1:%d) at stage status: GET http://127.0.0.1:%d/status answered 200" % (invalid, invalid))
    assert '"apiStatus": "Invalid"' in badkey and badkey.endswith("likely cause: the API key is not valid for this Speech resource")
    assert tts.startswith("- speech-tts-aria (ntts, http://127.0.0.1:%d) at stage probe: synthesis turn at ws://127.0.0.1:%d/cognitiveservices/websocket/v1"
                          % (grpc, grpc))
    assert "answered 500" in tts and "Error starting gRPC call" in tts and "NO_PROXY=localhost,127.0.0.1" in tts
    assert "speech-stt-proxy" in proxy and "wrong Sec-WebSocket-Accept" in proxy
    assert lid.startswith("- speech-lid (lid, http://127.0.0.1:%d) at stage ready: GET http://127.0.0.1:%d/ready got no answer: connection refused"
                          % (refused, refused))
    assert lid.endswith("nothing answers on 127.0.0.1:%d: the container is not running or the port is not published (docker logs speech-lid)" % refused)


def test_invalid_is_never_taken_for_valid(container, capsys):
    behaviour, port = container(status=("Invalid",))
    code, out = run(dict(FAST, containers=[{"name": "s", "kind": "ntts", "port": port}], status_timeout=600), capsys)
    assert code == 1
    report = out["containers"][0]
    assert report["ready"] is False and report["api_status"] == "Invalid"
    assert behaviour.counts["/status"] == 1 and behaviour.counts["/cognitiveservices/websocket/v1"] == 0


def test_fail_on_error_false_reports(container, capsys):
    dummy, port = container(status=("CouldNotConnect",))
    code, out = run(dict(FAST, containers=[{"name": "s", "kind": "stt", "port": port}], status_timeout=0, fail_on_error=False), capsys)
    assert code == 0 and "failed" not in out
    assert out["all_ready"] is False and out["summary"] == "0 of 1 container ready"
    assert out["containers"][0]["likely_cause"].startswith("billing unreachable: ")


def test_check_mode_one_round_no_waiting_never_fails(container, capsys):
    warming, warming_port = container(ready_after=5)
    billing, billing_port = container(status=("CouldNotConnect",))
    ready, ready_port = container()
    refused = fake.closed_port()
    sleeps = []
    containers = [{"name": "warming", "kind": "stt", "port": warming_port}, {"name": "billing", "kind": "stt", "port": billing_port},
                  {"name": "ready", "kind": "ntts", "port": ready_port, "voice": "en-US-AriaNeural"}, {"name": "gone", "kind": "lid", "port": refused}]
    with mock.patch("time.sleep", side_effect=sleeps.append):
        code, out = run({"containers": containers, "ready_timeout": 3600, "status_timeout": 3600, "_ansible_check_mode": True}, capsys)
    assert code == 0 and "failed" not in out
    assert sleeps == []
    assert warming.counts["/ready"] == 1 and billing.counts["/status"] == 1 and ready.counts["/cognitiveservices/websocket/v1"] == 1
    assert [c["ready"] for c in out["containers"]] == [False, False, True, False]
    assert out["all_ready"] is False
    assert out["summary"] == "1 of 4 containers ready (check mode: one round of probes, no waiting)"


def test_probe_false_and_disconnected(container, capsys):
    behaviour, port = container(synth="grpc")
    code, out = run(dict(FAST, containers=[{"name": "tts", "kind": "ntts", "port": port, "disconnected": True}], probe=False), capsys)
    assert code == 0 and out["all_ready"] is True
    report = out["containers"][0]
    assert report["api_status"] is None and report["status_http"] == 200 and report["probe"]["ok"] is None
    assert behaviour.counts["/status"] == 0 and behaviour.counts["/records/usage-logs/"] == 1


def test_protocol_given_against_the_kind_warns(container, capsys):
    dummy, port = container()
    code, out = run(dict(FAST, containers=[{"name": "stt", "kind": "stt", "port": port, "protocol": "http"}]), capsys)
    assert code == 0
    assert out["containers"][0]["url"] == "http://127.0.0.1:%d" % port
    # ansible-core 2.19 returns warnings as structured events; older cores as strings.
    assert "stt: stt containers are reached at ws://, not http://" in json.dumps(out.get("warnings", []))


def test_empty_list(capsys):
    code, out = run({"containers": []}, capsys)
    assert code == 0 and out["all_ready"] is True and out["containers"] == [] and out["summary"] == "0 of 0 containers ready"


@pytest.mark.parametrize("args, words", [
    ({"containers": [{"name": "a", "kind": "stt", "port": 0}]}, ["containers[0] (a).port: 0 is not a port between 1 and 65535"]),
    ({"containers": [{"name": "a", "kind": "stt", "port": 5000}, {"name": "a", "kind": "lid", "port": 5003}]},
     ["containers[1] (a).name: a appears more than once"]),
    ({"containers": [{"name": "a", "kind": "tts", "port": 5000}]}, ["kind", "tts"]),
    ({"containers": [{"name": "a", "kind": "stt"}]}, ["port"]),
    ({"containers": [{"name": "a", "kind": "stt", "port": 1, "host": ""}], "interval": 0, "request_timeout": 0, "ready_timeout": -1},
     ["containers[0] (a).host: empty", "interval: 0.0; give a number of seconds above 0", "request_timeout: 0", "ready_timeout: -1"]),
    ({}, ["containers"]),
])
def test_bad_arguments_fail(args, words, capsys):
    code, out = run(args, capsys)
    assert code == 1 and out["failed"] is True
    for word in words:
        assert word in out["msg"]
    assert "containers" not in out or not isinstance(out.get("containers"), list) or out["containers"] == []
