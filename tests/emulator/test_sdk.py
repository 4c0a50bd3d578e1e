"""The real Speech SDK (azure-cognitiveservices-speech, pinned in requirements.txt) against the emulator.

Microsoft's client is the oracle of the emulator's USP: recognition, continuous recognition,
synthesis, language identification, and every failure knob seen by the SDK as a clean
result or cancellation within seconds (never the SDK's own 70 s wait). The containers run
as local processes, as in test_speech_emulator.py, shared by the module's tests."""

import threading
import time
import wave

import pytest

from emulator_harness import ALL_KEYS, Billing, Launcher, connected, pcm_noise, pcm_silence, pcm_tone, write_wav

try:
    import azure.cognitiveservices.speech as speechsdk
except (ImportError, OSError) as exc:  # OSError: the SDK's native library cannot load here
    pytest.skip("the Speech SDK (azure-cognitiveservices-speech) cannot be imported: %s" % exc, allow_module_level=True)

TRANSCRIPTS = ("Hello from the emulator.", "A second phrase follows.")
VOICE = "en-US-AriaNeural"
CANDIDATES = ["de-DE", "en-US"]


def run(function, timeout=30):
    """function() in a thread: its value, or a failure if the SDK has not answered within timeout."""
    box = {}

    def target():
        try:
            box["value"] = function()
        except BaseException as exc:  # noqa: B902  (re-raised in the test's thread)
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the Speech SDK did not answer within %d s" % timeout
    if "error" in box:
        raise box["error"]
    return box["value"], time.monotonic() - started


# --------------------------------------------------------------------------
# Containers (one set for the module) and audio


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("sdk")


@pytest.fixture(scope="module")
def billing_service(workdir):
    service = Billing(workdir)
    yield service
    service.proc.stop()
    assert not any(key in service.proc.stdout for key in ALL_KEYS), "billing printed a key"


@pytest.fixture(scope="module")
def containers(workdir, billing_service):
    """containers(kind, **env) -> a ready Speech, started once per (kind, env) for the module."""
    launcher = Launcher(workdir)
    cache = {}

    def get(kind, **env):
        key = (kind, tuple(sorted(env.items())))
        if key not in cache:
            environ = {"EMULATOR_TRANSCRIPT": "|".join(TRANSCRIPTS), "EMULATOR_WARMUP_SECONDS": "0"}
            environ.update(env)
            speech = launcher(kind, *connected(billing_service), env=environ)
            cache[key] = speech.wait_listening() if environ["EMULATOR_WARMUP_SECONDS"] == "never" else speech.wait_ready()
        return cache[key]

    yield get
    launcher.stop_all()


@pytest.fixture(scope="module")
def wavs(workdir):
    """Test audio: speech-like sound between silences, silence, two segments of sound."""
    return {
        "speech": write_wav(workdir / "speech.wav", pcm_silence(0.3) + pcm_tone(1.0) + pcm_silence(0.6)),
        "silence": write_wav(workdir / "silence.wav", pcm_silence(1.5)),
        "long-silence": write_wav(workdir / "long-silence.wav", pcm_silence(2.5)),
        "two": write_wav(workdir / "two.wav", pcm_silence(0.3) + pcm_noise(0.8) + pcm_silence(1.0) + pcm_tone(0.7) + pcm_silence(0.7)),
    }


def recognizer(speech, wav, **props):
    config = speechsdk.SpeechConfig(host="ws://127.0.0.1:%d" % speech.port)
    for name, value in props.items():
        config.set_property_by_name(name, value)
    return config, speechsdk.audio.AudioConfig(filename=str(wav))


def synthesizer(speech, voice=VOICE, output=None, **props):
    config = speechsdk.SpeechConfig(host="http://127.0.0.1:%d" % speech.port)
    if voice:
        config.speech_synthesis_voice_name = voice
    for name, value in props.items():
        config.set_property_by_name(name, value)
    audio = speechsdk.audio.AudioOutputConfig(filename=str(output)) if output else None
    return speechsdk.SpeechSynthesizer(speech_config=config, audio_config=audio)


def speak(synth, text):
    """Synthesise text; synth stays referenced until the result is in (a collected synthesizer crashes the SDK)."""
    return synth.speak_text_async(text).get()


# SDK properties that turn a container that never answers into a quick ServiceTimeout.
QUICK_RECOGNITION_TIMEOUT = {"SPEECH-OneShotRecognition-OperationTimeoutMs": "1500", "SPEECH-StopRecognitionTimeoutInSeconds": "1"}
QUICK_SYNTHESIS_TIMEOUT = {"SpeechSynthesis_FirstChunkTimeoutMs": "1500"}


# --------------------------------------------------------------------------
# Speech to text


def test_recognize_once_speech_gives_the_transcript(containers, wavs):
    speech = containers("stt")
    config, audio = recognizer(speech, wavs["speech"])
    reco = speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio)
    hypotheses = []
    reco.recognizing.connect(lambda evt: hypotheses.append(evt.result.text))
    result, seconds = run(reco.recognize_once)
    assert result.reason == speechsdk.ResultReason.RecognizedSpeech, result
    assert result.text == TRANSCRIPTS[0]
    assert result.offset == 3_000_000 and result.duration == 10_000_000  # 0.3 s of silence, 1 s of sound
    assert hypotheses and hypotheses[0] == "hello"
    assert seconds < 10


@pytest.mark.parametrize("wav,reason", [("silence", speechsdk.NoMatchReason.NotRecognized), ("long-silence", speechsdk.NoMatchReason.InitialSilenceTimeout)])
def test_recognize_once_silence_gives_no_match(containers, wavs, wav, reason):
    speech = containers("stt")
    config, audio = recognizer(speech, wavs[wav])
    config.set_property(speechsdk.PropertyId.SpeechServiceConnection_InitialSilenceTimeoutMs, "2000")
    result, _s = run(speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio).recognize_once)
    assert result.reason == speechsdk.ResultReason.NoMatch, result
    assert result.no_match_details.reason == reason


def test_several_turns_on_one_connection(containers, wavs):
    speech = containers("stt")
    config, audio = recognizer(speech, wavs["two"])
    reco = speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio)
    upgrade = "GET /speech/recognition/interactive/cognitiveservices/v1 101"
    before = speech.proc.stdout.count(upgrade)
    first, _s = run(reco.recognize_once)
    second, _s = run(reco.recognize_once)
    assert first.text == second.text == TRANSCRIPTS[0]  # the transcript list starts again with each turn
    assert second.offset >= first.offset + first.duration  # the second segment of the file
    assert speech.proc.stdout.count(upgrade) == before + 1, "both turns went over one connection"


@pytest.mark.parametrize("dictation", [False, True], ids=["conversation", "dictation"])
def test_continuous_recognition_of_two_segments(containers, wavs, dictation):
    speech = containers("stt")
    config, audio = recognizer(speech, wavs["two"])
    if dictation:
        config.enable_dictation()
    reco = speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio)
    recognized, done = [], threading.Event()
    reco.recognized.connect(lambda evt: recognized.append(evt.result))
    reco.session_stopped.connect(lambda evt: done.set())
    reco.canceled.connect(lambda evt: done.set())
    started = time.monotonic()
    reco.start_continuous_recognition()
    assert done.wait(20), "no session_stopped within 20 s"
    run(reco.stop_continuous_recognition)
    texts = [r.text for r in recognized if r.reason == speechsdk.ResultReason.RecognizedSpeech]
    assert texts == list(TRANSCRIPTS)
    assert time.monotonic() - started < 10
    path = "/speech/recognition/%s/cognitiveservices/v1" % ("dictation" if dictation else "conversation")
    assert "GET %s 101" % path in speech.proc.stdout


def test_recognition_with_language_detection(containers, wavs):
    speech = containers("stt")
    config, audio = recognizer(speech, wavs["speech"])
    auto = speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=CANDIDATES)
    reco = speechsdk.SpeechRecognizer(speech_config=config, auto_detect_source_language_config=auto, audio_config=audio)
    result, _s = run(reco.recognize_once)
    assert result.reason == speechsdk.ResultReason.RecognizedSpeech and result.text == TRANSCRIPTS[0]
    assert speechsdk.AutoDetectSourceLanguageResult(result).language == "en-US"  # the image's locale among the candidates


def test_locale_mismatch_is_a_bad_request(containers, wavs):
    speech = containers("stt", EMULATOR_LOCALE="de-DE")
    config, audio = recognizer(speech, wavs["speech"])
    result, seconds = run(speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio).recognize_once)
    assert result.reason == speechsdk.ResultReason.Canceled
    details = result.cancellation_details
    assert details.code == speechsdk.CancellationErrorCode.BadRequest
    assert "1007" in details.error_details and "Unsupported locale: en-us" in details.error_details
    assert seconds < 10


def test_recognizer_error_knob(containers, wavs):
    speech = containers("stt", EMULATOR_RECOGNIZER="error")
    config, audio = recognizer(speech, wavs["speech"])
    result, seconds = run(speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio).recognize_once)
    assert result.reason == speechsdk.ResultReason.Canceled
    details = result.cancellation_details
    assert details.reason == speechsdk.CancellationReason.Error and details.code == speechsdk.CancellationErrorCode.ServiceError
    assert '"RecognitionStatus": "Error"' in details.error_details
    assert seconds < 10


@pytest.mark.parametrize("kind", ["stt", "lid"])
def test_silent_socket_is_a_service_timeout(containers, wavs, kind):
    speech = containers(kind, EMULATOR_SOCKET="silent")
    config, audio = recognizer(speech, wavs["speech"], **QUICK_RECOGNITION_TIMEOUT)
    if kind == "lid":
        auto = speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=CANDIDATES)
        reco = speechsdk.SourceLanguageRecognizer(speech_config=config, auto_detect_source_language_config=auto, audio_config=audio)
    else:
        reco = speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio)
    result, seconds = run(reco.recognize_once)
    assert result.reason == speechsdk.ResultReason.Canceled
    assert result.cancellation_details.code == speechsdk.CancellationErrorCode.ServiceTimeout
    assert seconds < 10


def test_not_ready_container_refuses_the_upgrade(containers, wavs):
    speech = containers("stt", EMULATOR_WARMUP_SECONDS="never")
    config, audio = recognizer(speech, wavs["speech"])
    result, seconds = run(speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio).recognize_once)
    assert result.reason == speechsdk.ResultReason.Canceled
    assert "503" in result.cancellation_details.error_details
    assert seconds < 15


# --------------------------------------------------------------------------
# Text to speech


def test_synthesis_to_a_wav_file(containers, workdir):
    speech = containers("ntts")
    out = workdir / "synth.wav"
    text = "Hello from the speech emulator"

    # The synthesizer is released when speak returns, which closes the file.
    result, seconds = run(lambda: speak(synthesizer(speech, output=out), text))
    assert result.reason == speechsdk.ResultReason.SynthesizingAudioCompleted, result.cancellation_details
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert abs(wav.getnframes() / 16000 - (0.3 + 0.06 * len(text))) < 0.05
    assert seconds < 10


def test_synthesis_in_memory_in_riff_24khz_twice_on_one_connection(containers):
    speech = containers("ntts")
    config = speechsdk.SpeechConfig(host="http://127.0.0.1:%d" % speech.port)
    config.speech_synthesis_voice_name = VOICE
    config.set_speech_synthesis_output_format(speechsdk.SpeechSynthesisOutputFormat.Riff24Khz16BitMonoPcm)
    synth = speechsdk.SpeechSynthesizer(speech_config=config, audio_config=None)
    first, _s = run(lambda: synth.speak_ssml_async("<speak version='1.0' xml:lang='en-US'><voice name='%s'>One.</voice></speak>" % VOICE).get())
    second, _s = run(lambda: synth.speak_text_async("A second sentence.").get())
    for result in (first, second):
        assert result.reason == speechsdk.ResultReason.SynthesizingAudioCompleted
        assert result.audio_data[:4] == b"RIFF" and len(result.audio_data) > 24000
    assert len(second.audio_data) > len(first.audio_data)
    assert "raw-24khz-16bit-mono-pcm" in speech.proc.stdout


@pytest.mark.parametrize("voice", ["de-DE-KatjaNeural", None], ids=["other-voice", "sdk-default-voice"])
def test_voice_mismatch_is_canceled_with_the_containers_reason(containers, voice):
    speech = containers("ntts")
    result, seconds = run(lambda: speak(synthesizer(speech, voice=voice), "Hello"))
    assert result.reason == speechsdk.ResultReason.Canceled
    details = result.cancellation_details
    assert details.reason == speechsdk.CancellationReason.Error and details.error_code == speechsdk.CancellationErrorCode.BadRequest
    assert 'Error code: 1007. Error details: Status(StatusCode="FailedPrecondition", Detail="Voice does not match")' in details.error_details
    assert seconds < 10


def test_synthesis_close_1011_knob(containers):
    speech = containers("ntts", EMULATOR_SYNTHESIS="close-1011")
    result, seconds = run(lambda: speak(synthesizer(speech), "Hello"))
    assert result.reason == speechsdk.ResultReason.Canceled
    details = result.cancellation_details
    assert details.error_code == speechsdk.CancellationErrorCode.ServiceError and "Error code: 1011" in details.error_details
    assert seconds < 10


def test_silent_synthesis_is_a_service_timeout(containers):
    speech = containers("ntts", EMULATOR_SOCKET="silent")
    result, seconds = run(lambda: speak(synthesizer(speech, **QUICK_SYNTHESIS_TIMEOUT), "Hello"))
    assert result.reason == speechsdk.ResultReason.Canceled
    assert result.cancellation_details.error_code == speechsdk.CancellationErrorCode.ServiceTimeout
    assert seconds < 10


def test_voices_list(containers):
    speech = containers("ntts")
    config = speechsdk.SpeechConfig(host="http://127.0.0.1:%d" % speech.port)
    synth = speechsdk.SpeechSynthesizer(speech_config=config, audio_config=None)
    result, _s = run(lambda: synth.get_voices_async().get())
    assert result.reason == speechsdk.ResultReason.VoicesListRetrieved
    assert [v.short_name for v in result.voices] == [VOICE]


# --------------------------------------------------------------------------
# Language identification


@pytest.mark.parametrize(
    "env,endpoint,expected",
    [
        ({}, None, "de-DE"),
        ({"EMULATOR_DETECTED_LANGUAGE": "en-us"}, None, "en-US"),
        ({}, "/speech/languagedetection/cognitiveservices/v1", "de-DE"),
    ],
    ids=["first-candidate", "knob", "explicit-endpoint"],
)
def test_source_language_recognizer(containers, wavs, env, endpoint, expected):
    speech = containers("lid", **env)
    if endpoint:
        config = speechsdk.SpeechConfig(endpoint="ws://127.0.0.1:%d%s" % (speech.port, endpoint))
    else:
        config = speechsdk.SpeechConfig(host="ws://127.0.0.1:%d" % speech.port)
    auto = speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=CANDIDATES)
    audio = speechsdk.audio.AudioConfig(filename=str(wavs["speech"]))
    lid = speechsdk.SourceLanguageRecognizer(speech_config=config, auto_detect_source_language_config=auto, audio_config=audio)
    result, seconds = run(lid.recognize_once)
    assert result.reason == speechsdk.ResultReason.RecognizedSpeech, result
    assert speechsdk.AutoDetectSourceLanguageResult(result).language == expected
    assert seconds < 10


def test_source_language_recognizer_on_silence_gives_no_language(containers, wavs):
    speech = containers("lid")
    config = speechsdk.SpeechConfig(host="ws://127.0.0.1:%d" % speech.port)
    auto = speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=CANDIDATES)
    audio = speechsdk.audio.AudioConfig(filename=str(wavs["silence"]))
    lid = speechsdk.SourceLanguageRecognizer(speech_config=config, auto_detect_source_language_config=auto, audio_config=audio)
    result, _s = run(lid.recognize_once)
    assert result.reason == speechsdk.ResultReason.NoMatch
