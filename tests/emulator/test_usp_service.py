"""The emulator's USP service, message by message, with the harness's own USP client (no SDK):
order and request ids of the answers, close codes, turns on one connection, the protocol's
limits, usage per turn, refusals, language identification paths, synthesis formats."""

import io
import socket
import time
import uuid
import wave

import pytest

from emulator_harness import (
    ALL_KEYS,
    VALID,
    Billing,
    Launcher,
    UspClient,
    connected,
    get_json,
    pcm_noise,
    pcm_silence,
    pcm_tone,
    riff_header,
    wait_for,
    ws_upgrade,
)

INTERACTIVE = "/speech/recognition/interactive/cognitiveservices/v1?language=en-US"
CONVERSATION = "/speech/recognition/conversation/cognitiveservices/v1?language=en-US"
SYNTH = "/cognitiveservices/websocket/v1"
SPEECH = pcm_silence(0.3) + pcm_tone(1.0) + pcm_silence(0.7)
TWO = pcm_silence(0.2) + pcm_noise(0.6) + pcm_silence(0.8) + pcm_tone(0.6) + pcm_silence(0.8)
SSML = "<speak version='1.0' xml:lang='en-US'><voice name='%s'>%s</voice></speak>"


def paths(messages):
    return [m.path if m.kind != "close" else "close" for m in messages]


def expect_close(client, code, needle="", timeout=10):
    while True:
        message = client.closed or client.receive(timeout)
        if message.kind == "close":
            assert message.code == code, message
            assert needle in message.reason, message
            return message


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Containers shared by the tests that do not change their state: {"billing", "stt", "ntts"}."""
    workdir = tmp_path_factory.mktemp("usp")
    service = Billing(workdir)
    launcher = Launcher(workdir)
    env = {"EMULATOR_TRANSCRIPT": "First phrase.|Second phrase.", "EMULATOR_WARMUP_SECONDS": "0"}
    started = {"billing": service, "stt": launcher("stt", *connected(service), env=env), "ntts": launcher("ntts", *connected(service), env=env)}
    started["stt"].wait_ready()
    started["ntts"].wait_ready()
    yield started
    launcher.stop_all()
    service.proc.stop()
    assert not any(key in service.proc.stdout for key in ALL_KEYS), "billing printed a key"


@pytest.fixture
def stt(shared):
    return shared["stt"]


@pytest.fixture
def ntts(shared):
    return shared["ntts"]


# --------------------------------------------------------------------------
# Recognition


def test_recognition_answers_in_order_with_the_turns_request_id(stt):
    with UspClient(stt.port, INTERACTIVE) as client:
        assert client.status.startswith("HTTP/1.1 101") and client.upgrade_headers.get("sec-websocket-protocol") is None
        client.config()
        rid = uuid.uuid4().hex
        answers = client.recognize(SPEECH, request_id=rid)
    assert all(m.request_id == rid for m in answers)
    order = paths(answers)
    assert order[0] == "turn.start" and order[1] == "speech.startDetected" and order[-3:] == ["speech.endDetected", "speech.phrase", "turn.end"]
    assert set(order[2:-3]) == {"speech.hypothesis"}
    assert "serviceTag" in answers[0].json()["context"]
    assert answers[1].json() == {"Offset": 3_000_000}
    phrase = answers[-2].json()
    assert phrase == {"RecognitionStatus": "Success", "Offset": 3_000_000, "Duration": 10_000_000, "DisplayText": "First phrase."}
    hypotheses = [m.json() for m in answers if m.path == "speech.hypothesis"]
    assert hypotheses[0]["Text"] == "first" and hypotheses[-1]["Text"] == "first phrase"
    assert answers[-1].body == b""


def test_upgrade_echoes_the_usp_subprotocol(stt):
    sock = socket.create_connection(("127.0.0.1", stt.port), timeout=5)
    with sock:
        sock.sendall(
            (
                "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: USP\r\nX-ConnectionId: %s\r\n\r\n" % (INTERACTIVE, uuid.uuid4().hex)
            ).encode()
        )
        head = sock.recv(4096).decode()
    assert head.startswith("HTTP/1.1 101") and "Sec-WebSocket-Protocol: USP\r\n" in head and "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head


def test_silence_no_match_and_initial_silence_timeout(stt):
    with UspClient(stt.port, INTERACTIVE) as client:
        short = client.recognize(pcm_silence(1.0))
        assert paths(short) == ["turn.start", "speech.phrase", "turn.end"]
        assert short[1].json() == {"RecognitionStatus": "NoMatch", "Offset": 0, "Duration": 10_000_000}
        context = {"phraseDetection": {"language": "en-US", "initialSilenceTimeout": 1000}}
        long = client.recognize(pcm_silence(3.0), context=context)
        assert paths(long) == ["turn.start", "speech.phrase", "turn.end"]
        assert long[1].json()["RecognitionStatus"] == "InitialSilenceTimeout"


def test_continuous_one_phrase_per_segment_and_turn_end_after_end_of_audio(stt):
    with UspClient(stt.port, CONVERSATION) as client:
        client.config()
        rid = uuid.uuid4().hex
        client.send_text("speech.context", rid, {"phraseDetection": {"language": "en-US"}})
        client.send_binary("audio", rid, riff_header(), "audio/x-wav")
        for i in range(0, len(TWO), 3200):
            client.send_binary("audio", rid, TWO[i:i + 3200])
        got = []
        while len([m for m in got if m.path == "speech.phrase"]) < 2:
            got.append(client.receive(5))
        with pytest.raises(socket.timeout):
            got.append(client.receive(0.6))  # no turn.end before the end of audio
        client.send_binary("audio", rid, b"")
        got += client.until("turn.end")
    phrases = [m.json() for m in got if m.path == "speech.phrase"]
    assert [p["DisplayText"] for p in phrases] == ["First phrase.", "Second phrase."]
    assert paths(got).count("speech.startDetected") == 1 and paths(got).count("speech.endDetected") == 1
    assert paths(got)[-2:] == ["speech.endDetected", "turn.end"]


def test_detailed_output_and_8khz_audio(stt):
    with UspClient(stt.port, INTERACTIVE + "&format=detailed&wordLevelTimestamps=true") as client:
        header = riff_header(rate=8000)
        pcm = pcm_silence(0.3, 8000) + pcm_tone(0.8, 8000) + pcm_silence(0.7, 8000)
        answers = client.recognize(pcm, header=header)
    phrase = [m.json() for m in answers if m.path == "speech.phrase"][0]
    assert phrase["Offset"] == 3_000_000 and phrase["Duration"] == 8_000_000
    best = phrase["NBest"][0]
    assert best["Display"] == "First phrase." and best["Lexical"] == "first phrase" and [w["Word"] for w in best["Words"]] == ["first", "phrase"]


def test_several_turns_on_one_connection_and_request_id_reuse(stt):
    with UspClient(stt.port, INTERACTIVE) as client:
        client.config()
        first = uuid.uuid4().hex
        one = client.recognize(SPEECH, request_id=first)
        two = client.recognize(SPEECH)
        assert paths(one)[-1] == paths(two)[-1] == "turn.end" and one[0].request_id != two[0].request_id
        # Telemetry and late audio of a finished turn are accepted and ignored...
        client.send_text("telemetry", first, {"ReceivedMessages": []})
        client.send_binary("audio", first, pcm_tone(0.1))
        # ...but a finished turn's id cannot start a turn again.
        client.send_text("speech.context", first, {"phraseDetection": {"language": "en-US"}})
        expect_close(client, 1002, "Reuse of request identifiers is not allowed")
    upgrades = [line for line in stt.proc.stdout.splitlines() if "GET /speech/recognition/interactive/cognitiveservices/v1 101" in line]
    assert upgrades[-1] < [line for line in stt.proc.stdout.splitlines() if "Reuse of request identifiers" in line][-1]


def test_a_new_turn_abandons_the_running_one(stt):
    with UspClient(stt.port, CONVERSATION) as client:
        old = uuid.uuid4().hex
        client.send_text("speech.context", old, {})
        client.send_binary("audio", old, riff_header(), "audio/x-wav")
        client.send_binary("audio", old, pcm_tone(0.3))
        assert client.receive(5).path == "turn.start"
        answers = client.recognize(SPEECH)
        client.send_binary("audio", old, pcm_tone(0.5))  # more audio for the abandoned turn: ignored
        client.send_binary("audio", old, b"")
        with pytest.raises(socket.timeout):
            client.receive(0.5)
    new = [i for i, m in enumerate(answers) if m.path == "turn.start" and m.request_id != old][0]
    assert old not in {m.request_id for m in answers[new:]}, "nothing more for the abandoned turn once the new one started"
    assert paths(answers)[-1] == "turn.end" and "abandoned" in stt.proc.stdout


@pytest.mark.parametrize(
    "send,code,reason",
    [
        (lambda c, rid: c.send_raw(0x1, "X-RequestId:%s\r\n\r\n{}" % rid), 1002, "Missing/Empty header. Path."),
        (lambda c, rid: c.send_text("speech.context", None, {}), 1002, "Missing/Empty header. X-RequestId."),
        (lambda c, rid: c.send_text("speech.context", str(uuid.uuid4()), {}), 1002, "no-dash UUID format"),
        (lambda c, rid: c.send_raw(0x1, "Path:speech.context\r\n{}"), 1007, "Text message contains no header separator."),
        (lambda c, rid: c.send_raw(0x2, b"\x00"), 1007, "invalid header size prefix"),
        (lambda c, rid: c.send_text("speech.context", rid, "{not json"), 1007, "not valid JSON"),
        (lambda c, rid: c.send_binary("audio", rid, b"NOT A RIFF HEADER" * 3, "audio/x-wav"), 1007, "Invalid audio format"),
        (lambda c, rid: c.send_binary("audio", rid, riff_header(rate=44100), "audio/x-wav"), 1007, "44100 Hz"),
        (lambda c, rid: c.send_text("speech.context", rid, {"phraseDetection": {"language": "de-DE"}}), 1007, "Unsupported locale: de-DE"),
        (lambda c, rid: c.send_raw(0x1, b"\xff\xfe"), 1007, "UTF-8"),
    ],
    ids=["no-path", "no-request-id", "dashed-request-id", "no-separator", "binary-prefix", "bad-json", "bad-riff", "44khz", "locale", "utf8"],
)
def test_protocol_violations_close_the_connection(stt, send, code, reason):
    with UspClient(stt.port, INTERACTIVE) as client:
        client.config()
        send(client, uuid.uuid4().hex)
        expect_close(client, code, reason)


def test_the_locale_of_the_query_is_checked_case_insensitively(stt):
    with UspClient(stt.port, "/speech/recognition/interactive/cognitiveservices/v1?language=en-us") as client:
        client.send_text("speech.context", uuid.uuid4().hex, {})
        assert paths(client.recognize(SPEECH, context={}))[-1] == "turn.end"
    with UspClient(stt.port, "/speech/recognition/interactive/cognitiveservices/v1?language=fr-FR") as client:
        client.recognize(SPEECH, context={})
        expect_close(client, 1007, "Unsupported locale: fr-FR. This container recognizes en-US only.")


def test_recognition_with_lid_enabled_on_stt(stt):
    path = "/speech/recognition/interactive/cognitiveservices/v1?language=de-de&lidEnabled=de-DE%2Cen-US"
    context = {"languageId": {"languages": ["de-DE", "en-US"], "onSuccess": {"action": "Recognize"}, "mode": "DetectAtAudioStart"}}
    with UspClient(stt.port, path) as client:
        answers = client.recognize(SPEECH, context=context)
    phrase = [m.json() for m in answers if m.path == "speech.phrase"][0]
    assert phrase["PrimaryLanguage"] == {"Language": "en-US", "Confidence": "High"} and phrase["DisplayText"] == "First phrase."
    with UspClient(stt.port, path.replace("en-US", "fr-FR")) as client:
        client.recognize(SPEECH, context={"languageId": {"languages": ["de-DE", "fr-FR"]}})
        expect_close(client, 1007, "none of the candidate languages (de-DE, fr-FR) is en-US")


# --------------------------------------------------------------------------
# Limits, knobs, usage, refusals


def test_idle_connection_is_closed(launch, billing):
    speech = launch("stt", *connected(billing), env={"EMULATOR_USP_IDLE_SECONDS": "1"}).wait_ready()
    with UspClient(speech.port, INTERACTIVE) as client:
        client.config()
        started = time.monotonic()
        message = expect_close(client, 1000, "idle for 1 seconds")
        assert 0.5 < time.monotonic() - started < 4, message


def test_lifetime_limit_never_closes_while_a_turn_waits_for_its_answer(launch, billing):
    env = {"EMULATOR_SOCKET": "silent", "EMULATOR_USP_MAX_SECONDS": "1", "EMULATOR_USP_IDLE_SECONDS": "1"}
    speech = launch("stt", *connected(billing), env=env).wait_ready()
    with UspClient(speech.port, INTERACTIVE) as waiting, UspClient(speech.port, INTERACTIVE) as idle:
        waiting.config()
        idle.config()
        rid = uuid.uuid4().hex
        waiting.send_text("speech.context", rid, {})
        waiting.send_binary("audio", rid, riff_header(), "audio/x-wav")
        waiting.send_binary("audio", rid, SPEECH)
        waiting.send_binary("audio", rid, b"")  # the request is complete: the answer is owed
        expect_close(idle, 1000, "", timeout=5)
        with pytest.raises(socket.timeout):
            waiting.receive(2.5)  # silent, and never closed while the turn waits
    assert "silent" in speech.proc.stdout


def test_silent_synthesis_accepts_and_never_answers(launch, billing):
    speech = launch("ntts", *connected(billing), env={"EMULATOR_SOCKET": "silent"}).wait_ready()
    with UspClient(speech.port, SYNTH) as client:
        rid = uuid.uuid4().hex
        client.send_text("synthesis.context", rid, {})
        client.send_text("ssml", rid, SSML % ("en-US-AriaNeural", "hi"), "application/ssml+xml")
        with pytest.raises(socket.timeout):
            client.receive(1.5)


@pytest.mark.parametrize(
    "env,needle",
    [
        ({"EMULATOR_RECOGNIZER": "bogus"}, "EMULATOR_RECOGNIZER=bogus"),
        ({"EMULATOR_SYNTHESIS": "close-1000"}, "EMULATOR_SYNTHESIS"),
        ({"EMULATOR_SOCKET": "deaf"}, "EMULATOR_SOCKET"),
        ({"EMULATOR_USP_IDLE_SECONDS": "soon"}, "EMULATOR_USP_IDLE_SECONDS"),
        ({"EMULATOR_TRANSCRIPT": "one||three"}, "EMULATOR_TRANSCRIPT"),
    ],
)
def test_bad_knobs_refuse_to_start(launch, env, needle):
    speech = launch("stt", "Eula=accept", "Billing=http://127.0.0.1:9/", "ApiKey=" + VALID, env=env)
    assert speech.proc.wait() == 1 and needle in speech.proc.stderr


@pytest.mark.parametrize("value,status", [("error", "Error"), ("too-many-requests", "TooManyRequests")])
def test_recognizer_failure_knob(launch, billing, value, status):
    speech = launch("stt", *connected(billing), env={"EMULATOR_RECOGNIZER": value}).wait_ready()
    with UspClient(speech.port, INTERACTIVE) as client:
        answers = client.recognize(SPEECH)
    assert paths(answers) == ["turn.start", "speech.phrase", "turn.end"] and answers[1].json()["RecognitionStatus"] == status


def test_usage_is_metered_per_turn(launch, billing):
    speech = launch("stt", *connected(billing)).wait_ready()
    with UspClient(speech.port, INTERACTIVE) as client:
        for _turn in range(3):
            assert paths(client.recognize(SPEECH))[-1] == "turn.end"

    def sessions():
        return billing.usage()["usage"].get("valid", {}).get("meters", {}).get("SpeechToText.Sessions", 0)

    wait_for(lambda: sessions() >= 3, timeout=5)
    time.sleep(0.8)
    assert sessions() == 3
    ntts = launch("ntts", *connected(billing)).wait_ready()
    with UspClient(ntts.port, SYNTH) as client:
        client.synthesize(SSML % ("en-US-AriaNeural", "twelve chars"))
        client.synthesize(SSML % ("en-US-AriaNeural", "abc"))
    with UspClient(ntts.port, SYNTH) as client:
        client.synthesize(SSML % ("de-DE-KatjaNeural", "refused, not metered"))
        expect_close(client, 1007, "Voice does not match")

    def characters():
        return billing.usage()["usage"]["valid"]["meters"].get("NeuralTextToSpeech.Characters", 0)

    wait_for(lambda: characters() == 15, timeout=5)
    time.sleep(0.7)
    assert characters() == 15


def test_billing_blocks_the_next_turn_in_protocol(launch, billing):
    speech = launch("stt", *connected(billing)).wait_ready()
    ntts = launch("ntts", *connected(billing)).wait_ready()
    with UspClient(speech.port, INTERACTIVE) as client, UspClient(ntts.port, SYNTH) as synth:
        assert paths(client.recognize(SPEECH))[-1] == "turn.end"
        billing.post("/admin/down")
        wait_for(lambda: ws_upgrade(speech.port, INTERACTIVE)[0].split()[1] == "503", timeout=5)
        wait_for(lambda: ws_upgrade(ntts.port, SYNTH)[0].split()[1] == "503", timeout=5)
        answers = client.recognize(SPEECH)
        assert paths(answers) == ["turn.start", "speech.phrase", "turn.end"]
        assert answers[1].json()["RecognitionStatus"] == "ServiceUnavailable"
        synth.synthesize(SSML % ("en-US-AriaNeural", "hello"))
        expect_close(synth, 1011, "cannot reach its billing endpoint")
    billing.post("/admin/up")


def test_proxy_failure_refuses_the_synthesis_upgrade(launch, billing):
    # Billing (127.0.0.1) bypasses the proxy; the internal call to localhost goes to it and fails.
    speech = launch("ntts", *connected(billing), env={"HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1"}).wait_ready()
    status, _headers, sock, _key = ws_upgrade(speech.port, SYNTH)
    sock.close()
    assert " 500 " in status + " "


# --------------------------------------------------------------------------
# Language identification


LID_CONTEXT = {
    "phraseDetection": {"mode": "None"},
    "languageId": {"languages": ["en-US", "de-DE"], "onSuccess": {"action": "None"}, "mode": "DetectAtAudioStart"},
}


def test_lid_paths(launch, billing):
    lid = launch("lid", *connected(billing), env={"EMULATOR_DETECTED_LANGUAGE": "de-de"}).wait_ready()
    for path in ("/speech/universal/v2?language=en-us", "/speech/languagedetection/cognitiveservices/v1"):
        with UspClient(lid.port, path) as client:
            answers = client.recognize(SPEECH, context=LID_CONTEXT)
        phrase = [m.json() for m in answers if m.path == "speech.phrase"][0]
        assert phrase["RecognitionStatus"] == "Success" and phrase["PrimaryLanguage"] == {"Language": "de-DE", "Confidence": "High"}
        assert phrase["DisplayText"] == ""
    with UspClient(lid.port, "/speech/recognition/interactive/cognitiveservices/v1?language=en-us&lidEnabled=en-US%2Cde-DE") as client:
        answers = client.recognize(SPEECH, context={"languageId": {"languages": ["en-US", "de-DE"], "onSuccess": {"action": "Recognize"}}})
        assert [m.json()["PrimaryLanguage"]["Language"] for m in answers if m.path == "speech.phrase"] == ["de-DE"]
    assert " 404 " in ws_upgrade(lid.port, "/speech/recognition/interactive/cognitiveservices/v1?language=en-us")[0] + " "
    with UspClient(lid.port, "/speech/universal/v2") as client:
        client.recognize(SPEECH, context={"phraseDetection": {"mode": "None"}})
        expect_close(client, 1007, "needs candidate languages")
    with UspClient(lid.port, "/speech/universal/v2") as client:
        answers = client.recognize(pcm_silence(1.0), context=LID_CONTEXT)
        assert "PrimaryLanguage" not in answers[1].json() and answers[1].json()["RecognitionStatus"] == "NoMatch"


def test_lid_unknown_language(launch, billing):
    lid = launch("lid", *connected(billing), env={"EMULATOR_DETECTED_LANGUAGE": "fr-FR"}).wait_ready()
    with UspClient(lid.port, "/speech/universal/v2") as client:
        answers = client.recognize(SPEECH, context=LID_CONTEXT)
    phrase = [m.json() for m in answers if m.path == "speech.phrase"][0]
    assert phrase["PrimaryLanguage"] == {"Language": "Unknown", "Confidence": "Unknown"}


# --------------------------------------------------------------------------
# Synthesis


@pytest.mark.parametrize("path", ["/cognitiveservices/websocket/v1", "/tts/cognitiveservices/websocket/v1"])
def test_synthesis_messages(ntts, path):
    with UspClient(ntts.port, path) as client:
        client.send_text("speech.config", None, {"context": {"system": {"version": "1.53.0"}}}, content_type=None)
        rid = uuid.uuid4().hex
        answers = client.synthesize(SSML % ("EN-us-ARIAneural", "Hello there"), request_id=rid)
        riff = client.synthesize(SSML % ("en-US-AriaNeural", "Hello there"), output_format="riff-8khz-16bit-mono-pcm")
        mp3 = uuid.uuid4().hex
        client.send_text("synthesis.context", mp3, {"synthesis": {"audio": {"outputFormat": "audio-24khz-48kbitrate-mono-mp3"}}})
        client.send_text("ssml", mp3, SSML % ("en-US-AriaNeural", "x"), "application/ssml+xml")
        expect_close(client, 1007, "Unsupported output format audio-24khz-48kbitrate-mono-mp3")
    assert all(m.request_id == rid for m in answers)
    kinds = paths(answers)
    assert kinds[:2] == ["turn.start", "response"] and kinds[-2:] == ["audio.metadata", "turn.end"] and set(kinds[2:-2]) == {"audio"}
    stream = answers[1].json()["audio"]["streamId"]
    audio = [m for m in answers if m.kind == "binary"]
    assert all(m.headers["x-streamid"] == stream for m in audio)
    data = b"".join(m.body for m in audio)
    seconds = 0.3 + 0.06 * len("Hello there")
    assert abs(len(data) / 32000 - seconds) < 0.01 and not data.startswith(b"RIFF")
    assert answers[-2].json()["Metadata"][0]["Type"] == "SessionEnd"
    wav = b"".join(m.body for m in riff if m.kind == "binary")
    with wave.open(io.BytesIO(wav)) as parsed:
        assert parsed.getframerate() == 8000 and abs(parsed.getnframes() / 8000 - seconds) < 0.01


@pytest.mark.parametrize(
    "ssml,reason",
    [
        (SSML % ("de-DE-KatjaNeural", "Hallo"), 'Status(StatusCode="FailedPrecondition", Detail="Voice does not match")'),
        ("<speak version='1.0'><voice name='en-US-AriaNeural'>a</voice><voice name='en-US-GuyNeural'>b</voice></speak>", "Voice does not match"),
        ("<speak version='1.0'>no voice</speak>", "must name a voice"),
        ("plain text", "must be an SSML document"),
    ],
)
def test_synthesis_refusals_close_1007(ntts, ssml, reason):
    with UspClient(ntts.port, SYNTH) as client:
        client.synthesize(ssml)
        expect_close(client, 1007, reason)


def test_disconnected_usage_records_per_turn(launch, billing, tmp_path):
    from emulator_harness import DISCONNECTED

    lic, out = tmp_path / "license", tmp_path / "output"
    lic.mkdir()
    download = launch("ntts", "eula=accept", "billing=" + billing.url, "apikey=" + DISCONNECTED, "DownloadLicense=True", "Mounts:License=%s" % lic)
    assert download.proc.wait() == 0
    speech = launch("ntts", "eula=accept", "Mounts:License=%s" % lic, "Mounts:Output=%s" % out).wait_ready()
    with UspClient(speech.port, SYNTH) as client:
        client.synthesize(SSML % ("en-US-AriaNeural", "twelve chars"))
    assert get_json(speech.base + "/records/usage-logs/")[1]["meters"][0]["quantity"] == 12
    assert VALID not in speech.proc.stdout
