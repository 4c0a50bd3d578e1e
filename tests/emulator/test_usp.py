"""Unit tests of the emulator's protocol modules, in process: USP messages (usp.py), WebSocket
frames (websocket.py), RIFF headers and the speech detector (audio.py), language choice."""

import json
import socket
import struct
import threading

import pytest

from emulator_harness import binary_message, client_frame, pcm_noise, pcm_silence, pcm_tone, riff_header, text_message
from speech_emulator import audio, language_id, recognition, usp, websocket

RID = "0123456789abcdef0123456789abcdef"


# --------------------------------------------------------------------------
# USP messages


def test_parse_text_message_headers_and_body():
    message = usp.parse_text(text_message("speech.context", RID, {"phraseDetection": {"language": "en-US"}}).encode())
    assert message.path == "speech.context" and message.request_id == RID and not message.binary
    assert message.header("content-type") == "application/json" and message.header("X-TIMESTAMP")
    assert message.json() == {"phraseDetection": {"language": "en-US"}}


def test_parse_text_trims_the_space_after_the_colon_and_keeps_colons_in_values():
    message = usp.parse_text("Path: turn.start\r\nX-Timestamp: 2026-01-01T00:00:00.000Z\r\n\r\n{}")
    assert message.path == "turn.start" and message.header("x-timestamp") == "2026-01-01T00:00:00.000Z"


def test_parse_text_empty_body_is_an_empty_object():
    message = usp.parse_text("Path:turn.end\r\nX-RequestId:%s\r\n\r\n" % RID)
    assert message.body == b"" and message.json() == {}


@pytest.mark.parametrize(
    "payload,reason",
    [
        (b"", "Text message contains no data."),
        (b"Path:speech.config\r\n{}", "Text message contains no header separator."),
        (b"Path:x\r\n\r\n\xff\xfe", "Text message decoding into UTF-8 failed."),
        (b"no colon here\r\n\r\n{}", "Header line without a name"),
    ],
)
def test_bad_text_messages_close_1007(payload, reason):
    with pytest.raises(usp.UspError) as err:
        usp.parse_text(payload)
    assert err.value.code == 1007 and reason in err.value.reason


def test_json_body_that_is_not_json_is_1007():
    with pytest.raises(usp.UspError) as err:
        usp.parse_text("Path:speech.context\r\n\r\n{not json").json()
    assert err.value.code == 1007


def test_parse_binary_message():
    message = usp.parse_binary(binary_message("audio", RID, b"\x01\x02\x03", "audio/x-wav"))
    assert message.binary and message.path == "audio" and message.request_id == RID
    assert message.body == b"\x01\x02\x03" and message.header("X-StreamId") == "1"


def test_binary_message_with_empty_headers_and_body():
    message = usp.parse_binary(b"\x00\x00")
    assert message.path == "" and message.body == b""


@pytest.mark.parametrize(
    "payload,reason",
    [
        (b"\x00", "invalid header size prefix"),
        (b"\x00\x10Path:audio\r\n", "invalid header size."),
        (struct.pack(">H", 9000) + b"x" * 9000, "invalid header size."),
        (b"\x00\x04\xff\xfe\r\n", "headers decoding"),
    ],
)
def test_bad_binary_messages_close_1007(payload, reason):
    with pytest.raises(usp.UspError) as err:
        usp.parse_binary(payload)
    assert err.value.code == 1007 and reason in err.value.reason


def test_build_text_and_parse_back():
    payload = usp.build_text("speech.phrase", RID, {"RecognitionStatus": "Success", "DisplayText": "Hi."})
    head, _sep, body = payload.partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0] == "Path:speech.phrase" and "X-RequestId:" + RID in lines
    assert any(line.startswith("X-Timestamp:") and line.endswith("Z") for line in lines)
    assert "Content-Type:application/json; charset=utf-8" in lines
    assert json.loads(body) == {"RecognitionStatus": "Success", "DisplayText": "Hi."}
    again = usp.parse_text(payload)
    assert again.path == "speech.phrase" and again.json()["DisplayText"] == "Hi."


def test_build_text_without_body_has_no_content_type():
    payload = usp.build_text("turn.end", RID, None)
    assert payload.endswith("\r\n\r\n") and "Content-Type" not in payload


def test_build_binary_and_parse_back():
    payload = usp.build_binary("audio", RID, b"\x00\x01" * 10, headers={"X-StreamId": "ABC"})
    size = struct.unpack(">H", payload[:2])[0]
    assert payload[2:2 + size].decode("ascii").endswith("\r\n")
    message = usp.parse_binary(payload)
    assert message.path == "audio" and message.header("x-streamid") == "ABC" and message.body == b"\x00\x01" * 10


def test_request_ids():
    assert usp.is_request_id(RID) and usp.is_request_id(RID.upper()) and usp.is_request_id(usp.new_request_id())
    assert not usp.is_request_id("123e4567-e89b-12d3-a456-426655440000")
    assert not usp.is_request_id("") and not usp.is_request_id(RID + "0")


# --------------------------------------------------------------------------
# WebSocket frames


def test_accept_key_of_rfc_6455_example():
    assert websocket.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert websocket.valid_client_key("dGhlIHNhbXBsZSBub25jZQ==") and not websocket.valid_client_key("short")


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536, 70000])
def test_masked_client_frames_of_every_length_form(size):
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    data = client_frame(0x2, payload) + b"rest"
    fin, opcode, got, consumed = websocket.parse_frame(bytearray(data))
    assert (fin, opcode, got) == (True, 0x2, payload) and data[consumed:] == b"rest"
    assert websocket.parse_frame(bytearray(data[: consumed - 1])) is None


def test_server_frames_are_not_masked():
    data = websocket.frame(websocket.TEXT, b"hello")
    assert data == b"\x81\x05hello"
    long = websocket.frame(websocket.BINARY, b"x" * 300)
    assert long[:4] == b"\x82\x7e\x01\x2c"


@pytest.mark.parametrize(
    "data,code",
    [
        (b"\x81\x05hello", 1002),  # not masked
        (bytes([0x83, 0x80]) + b"\0\0\0\0", 1002),  # unknown opcode
        (bytes([0xC1, 0x80]) + b"\0\0\0\0", 1002),  # reserved bit
        (bytes([0x09, 0x80]) + b"\0\0\0\0", 1002),  # fragmented ping
        (bytes([0x82, 0xFF]) + struct.pack(">Q", 1 << 40) + b"\0\0\0\0", 1009),  # too large
    ],
)
def test_bad_frames(data, code):
    with pytest.raises(websocket.ProtocolError) as err:
        websocket.parse_frame(bytearray(data))
    assert err.value.code == code


def test_close_payload_is_cut_to_a_control_frame():
    payload = websocket.close_payload(1007, "é" * 100)
    assert len(payload) <= 125 and struct.unpack(">H", payload[:2])[0] == 1007
    payload[2:].decode("utf-8")


def test_connection_joins_fragments_answers_pings_and_closes():
    server, client = socket.socketpair()
    try:
        conn = websocket.Connection(server)
        first = bytearray(client_frame(0x1, b"Path:a\r\n"))
        first[0] &= 0x7F  # not final
        second = bytearray(client_frame(0x0, b"\r\n{}"))
        client.sendall(bytes(first) + client_frame(0x9, b"ping!") + bytes(second))
        assert conn.receive(timeout=2) == (websocket.TEXT, b"Path:a\r\n\r\n{}")
        assert client.recv(100) == b"\x8a\x05ping!"
        assert conn.receive(timeout=0.1) is None
        client.sendall(client_frame(0x8, struct.pack(">H", 1000) + b"bye"))
        with pytest.raises(websocket.Closed) as closed:
            conn.receive(timeout=2)
        assert closed.value.code == 1000 and closed.value.reason == "bye"
        assert client.recv(100) == b"\x88\x02\x03\xe8"
    finally:
        server.close()
        client.close()


def test_connection_close_sends_code_and_reason_and_waits_for_the_answer():
    server, client = socket.socketpair()
    try:
        conn = websocket.Connection(server)
        answer = threading.Timer(0.1, lambda: client.sendall(client_frame(0x8, struct.pack(">H", 1007))))
        answer.start()
        conn.close(1007, "Voice does not match")
        data = client.recv(200)
        assert data[0] == 0x88 and struct.unpack(">H", data[2:4])[0] == 1007 and data[4:] == b"Voice does not match"
        assert conn.closed
    finally:
        server.close()
        client.close()


# --------------------------------------------------------------------------
# Audio


def test_riff_header_of_the_sdk_is_accepted():
    fmt, rest = audio.parse_riff(riff_header() + b"\x01\x00")
    assert fmt == {"rate": 16000, "channels": 1, "bits": 16} and rest == b"\x01\x00"
    assert audio.parse_riff(riff_header(rate=8000))[0]["rate"] == 8000


def test_riff_header_with_a_list_chunk_before_data():
    header = audio.wav_header(16000, 4)
    with_list = header[:36] + b"LIST" + struct.pack("<I", 4) + b"INFO" + header[36:]
    assert audio.parse_riff(with_list + b"\0\0\0\0")[1] == b"\0\0\0\0"


@pytest.mark.parametrize(
    "data,needle",
    [
        (b"\0" * 44, "RIFF/WAVE header"),
        (riff_header(channels=2), "2 channel"),
        (riff_header(bits=8), "8 bit"),
        (riff_header(rate=44100), "44100 Hz"),
        (riff_header(code=3), "not PCM"),
        (riff_header()[:36], "no data chunk"),
    ],
)
def test_bad_riff_headers(data, needle):
    with pytest.raises(audio.AudioFormatError) as err:
        audio.parse_riff(data)
    assert needle in str(err.value)


def detect(pcm, chunk=3200, **kw):
    detector = audio.SpeechDetector(16000, **kw)
    events = []
    for i in range(0, len(pcm), chunk):
        events += detector.feed(pcm[i:i + chunk])
    return events + detector.finish(), detector


def test_silence_has_no_segment():
    events, detector = detect(pcm_silence(2.0))
    assert events == [] and detector.position == 32000


def test_a_tone_between_silences_is_one_segment():
    events, detector = detect(pcm_silence(0.3) + pcm_tone(1.0) + pcm_silence(0.7))
    kinds = [e[0] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and "progress" in kinds
    assert events[0][1] == 4800 and events[-1][1:] == (4800, 20800)
    assert detector.ticks(16000) == 10_000_000


def test_two_segments_and_a_blip_that_is_too_short():
    pcm = pcm_noise(0.6) + pcm_silence(0.8) + pcm_tone(0.04) + pcm_silence(0.8) + pcm_tone(0.5) + pcm_silence(0.1)
    events, _d = detect(pcm, chunk=1000)
    assert [e for e in events if e[0] == "end"] == [("end", 0, 9600), ("end", 35840, 43840)]


def test_segmentation_silence_and_maximum_length():
    pcm = pcm_tone(0.5) + pcm_silence(0.3) + pcm_tone(0.5) + pcm_silence(1.0)
    assert len([e for e in detect(pcm)[0] if e[0] == "end"]) == 1
    assert len([e for e in detect(pcm, end_silence_ms=200)[0] if e[0] == "end"]) == 2
    assert [e for e in detect(pcm_tone(1.0), max_segment_ms=400)[0] if e[0] == "end"][0] == ("end", 0, 6400)


def test_lexical_form():
    assert recognition.lexical("This is the Speech emulator, isn't it?") == "this is the speech emulator isn't it"


# --------------------------------------------------------------------------
# Language identification


def test_candidates_from_speech_context_or_query():
    context = {"languageId": {"languages": ["en-US", "de-DE"], "mode": "DetectAtAudioStart"}}
    assert language_id.candidates("language=en-us", context) == ["en-US", "de-DE"]
    assert language_id.candidates("language=en-us&lidEnabled=fr-FR%2Cde-DE", {}) == ["fr-FR", "de-DE"]
    assert language_id.requested("lidEnabled=fr-FR", {}) and language_id.requested("", context)
    assert not language_id.requested("language=en-US", {"phraseDetection": {}})


def test_detected_language():
    assert language_id.detect(["de-DE", "en-US"]) == "de-DE"
    assert language_id.detect(["de-DE", "en-US"], own_locale="en-us") == "en-US"
    assert language_id.detect(["de-DE", "en-US"], knob="EN-us", own_locale="de-DE") == "en-US"
    assert language_id.detect(["de-DE", "en-US"], knob="fr-FR") == "Unknown"
    assert language_id.primary_language("de-DE") == {"Language": "de-DE", "Confidence": "High"}
