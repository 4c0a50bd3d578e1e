# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Speech SDK says to a container, spoken by the readiness probe (standard library only).

USP over WebSocket (RFC 6455): the SDK's messages for a recognition turn, a synthesis turn
and a language identification turn, with the answers a client needs. Each exchange runs
against one deadline and says, when it does not get what a client needs, what it got: an
HTTP status at the upgrade, a close code and its reason, a RecognitionStatus, silence.

Text message: header lines "Name:value" (CRLF each), an empty line, the body.
Binary message: a 2-byte big-endian length of the header block, the header lines, the body.
Every message carries Path and X-Timestamp; every one but speech.config carries X-RequestId,
the turn's id, which the service echoes on its answers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import hashlib
import json
import os
import socket
import struct
import time
import uuid

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
USER_AGENT = "onprem.speech readiness"
CHUNK = 3200  # 100 ms of 16 kHz 16-bit mono PCM, as the SDK sends it
ERROR_STATUSES = ("Error", "BadRequest", "Forbidden", "TooManyRequests", "ServiceUnavailable")
QUIET_STATUSES = ("NoMatch", "InitialSilenceTimeout", "BabbleTimeout", "EndOfDictation")


class Failure(Exception):
    """An exchange that did not get what a client needs: kind (the likely cause's key) and words."""

    def __init__(self, kind, words, status=None, code=None):
        Exception.__init__(self, words)
        self.kind = kind
        self.words = words
        self.status = status
        self.code = code


def wav_header(rate=16000, data_length=0):
    """A RIFF/WAVE header of 16-bit mono PCM (the SDK sends sizes of 0 for a stream)."""
    byte_rate = rate * 2
    return (b"RIFF" + struct.pack("<I", 36 + data_length if data_length else 0) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, byte_rate, 2, 16)
            + b"data" + struct.pack("<I", data_length))


def timestamp():
    return datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def text_message(path, body, request_id=None, content_type="application/json"):
    headers = ["Path:%s" % path, "X-Timestamp:%s" % timestamp()]
    if request_id:
        headers.append("X-RequestId:%s" % request_id)
    if content_type:
        headers.append("Content-Type:%s" % content_type)
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("utf-8") + data


def binary_message(path, body, request_id, content_type=None):
    headers = ["Path:%s" % path, "X-Timestamp:%s" % timestamp(), "X-RequestId:%s" % request_id]
    if content_type:
        headers.append("Content-Type:%s" % content_type)
    block = ("\r\n".join(headers) + "\r\n").encode("ascii")
    return struct.pack(">H", len(block)) + block + body


def parse_headers(block):
    headers = {}
    for line in block.split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


def parse_text(payload):
    """(headers, body text) of a text message."""
    text = payload.decode("utf-8", "replace")
    block, _sep, body = text.partition("\r\n\r\n")
    return parse_headers(block), body


def parse_binary(payload):
    """(headers, body bytes) of a binary message."""
    if len(payload) < 2:
        return {}, b""
    size = struct.unpack(">H", payload[:2])[0]
    return parse_headers(payload[2:2 + size].decode("ascii", "replace")), payload[2 + size:]


def frame(opcode, payload):
    """A client frame: FIN set, masked, as RFC 6455 requires of clients."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = struct.pack(">BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class Socket(object):
    """One WebSocket connection with a deadline; recv() gives (opcode, payload) of whole messages."""

    def __init__(self, host, port, path, deadline, connect=socket.create_connection, clock=time.monotonic):
        self.clock = clock
        self.deadline = deadline
        self.buffer = b""
        self.closed = None
        self.sock = None
        remaining = self._remaining()
        try:
            self.sock = connect((host, port), remaining)
        except socket.timeout:
            raise Failure("nothing", "no connection within %.0fs" % remaining)
        except OSError as error:
            raise Failure("nothing", getattr(error, "strerror", None) or str(error))
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: USP\r\nX-ConnectionId: %s\r\nUser-Agent: %s\r\n\r\n"
                   % (path, host if ":" not in host else "[%s]" % host, port, key, uuid.uuid4().hex, USER_AGENT))
        self._send_raw(request.encode("ascii"))
        head = self._read_until(b"\r\n\r\n")
        status_line, _sep, header_text = head.decode("latin-1").partition("\r\n")
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        headers = parse_headers(header_text)
        if status != 101:
            body = self._read_body(headers)
            raise Failure("upgrade", "the WebSocket upgrade was answered %s%s" % (status, (' "%s"' % body) if body else ""), status=status)
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode("ascii")).digest()).decode("ascii")
        if headers.get("sec-websocket-accept") != want:
            raise Failure("ws_accept", "the WebSocket upgrade was answered 101 with a wrong Sec-WebSocket-Accept", status=101)

    def _remaining(self):
        return max(0.05, self.deadline - self.clock())

    def _send_raw(self, data):
        try:
            self.sock.settimeout(self._remaining())
            self.sock.sendall(data)
        except socket.timeout:
            raise Failure("silent", "could not send within the deadline")
        except OSError as error:
            raise Failure("closed", "the connection broke while sending: %s" % (getattr(error, "strerror", None) or error))

    def _fill(self):
        if self.clock() >= self.deadline:
            raise Failure("silent", "no answer within the deadline")
        try:
            self.sock.settimeout(self._remaining())
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise Failure("silent", "no answer within the deadline")
        except OSError as error:
            raise Failure("closed", "the connection broke: %s" % (getattr(error, "strerror", None) or error))
        if not chunk:
            raise Failure("closed", "the container closed the connection without a close frame")
        self.buffer += chunk

    def _read_until(self, marker):
        while marker not in self.buffer:
            if len(self.buffer) > 65536:
                raise Failure("not_ws", "the answer to the upgrade is not HTTP")
            self._fill()
        head, _sep, self.buffer = self.buffer.partition(marker)
        return head

    def _read_body(self, headers):
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = 0
        try:
            while len(self.buffer) < min(length, 2048):
                self._fill()
        except Failure:
            pass
        text = self.buffer[:min(length, 2048)].decode("utf-8", "replace")
        return " ".join(text.split())[:200]

    def send_text(self, payload):
        self._send_raw(frame(0x1, payload))

    def send_binary(self, payload):
        self._send_raw(frame(0x2, payload))

    def _frame(self):
        while len(self.buffer) < 2:
            self._fill()
        first, second = self.buffer[0], self.buffer[1]
        length, offset = second & 0x7F, 2
        if length == 126:
            while len(self.buffer) < 4:
                self._fill()
            length, offset = struct.unpack(">H", self.buffer[2:4])[0], 4
        elif length == 127:
            while len(self.buffer) < 10:
                self._fill()
            length, offset = struct.unpack(">Q", self.buffer[2:10])[0], 10
        if second & 0x80:
            offset += 4  # a masked server frame: not allowed, but read past it
        while len(self.buffer) < offset + length:
            self._fill()
        payload = self.buffer[offset:offset + length]
        self.buffer = self.buffer[offset + length:]
        return bool(first & 0x80), first & 0x0F, payload

    def recv(self):
        """The next whole data message: (opcode, payload). A close frame raises Failure with its code and reason."""
        parts, opcode = [], None
        while True:
            fin, op, payload = self._frame()
            if op == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                reason = payload[2:].decode("utf-8", "replace")
                self.closed = code
                raise Failure("closed_code", "the container closed the connection with %s%s" % (code, (' "%s"' % reason) if reason else ""),
                              code=code)
            if op == 0x9:
                self._send_raw(frame(0xA, payload))
                continue
            if op == 0xA:
                continue
            if op in (0x1, 0x2):
                opcode = op
            parts.append(payload)
            if fin:
                return opcode, b"".join(parts)

    def close(self):
        if self.sock is None:
            return
        try:
            if self.closed is None:
                self.sock.settimeout(1)
                self.sock.sendall(frame(0x8, struct.pack(">H", 1000)))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


def _turn_messages(ws, request_id, want_end=True):
    """Yield (path, headers, body) of the turn's messages until turn.end; messages of other turns are ignored."""
    while True:
        opcode, payload = ws.recv()
        headers, body = parse_text(payload) if opcode == 0x1 else parse_binary(payload)
        if (headers.get("x-requestid") or "").lower() != request_id.lower():
            continue
        path = (headers.get("path") or "").lower()
        yield path, headers, body
        if path == "turn.end":
            return


def speech_config():
    return json.dumps({"context": {"system": {"name": "SpeechSDK", "version": "1.53.0", "build": "onprem.speech readiness"},
                                   "os": {"platform": "Linux", "name": "onprem.speech", "version": "1"},
                                   "audio": {"source": {"samplerate": "16000", "bitspersample": "16", "channelcount": "1"}}}})


def recognize(host, port, locale, audio, deadline, lid_candidates=None, path=None, connect=socket.create_connection, clock=time.monotonic):
    """One recognition turn, as SpeechRecognizer.recognize_once() runs it; returns the final phrase (a dict).

    audio: raw 16 kHz 16-bit mono PCM. With lid_candidates, the turn is SourceLanguageRecognizer's (the languageId
    section, on the path given). Raises Failure when the turn does not end with a phrase a client takes."""
    query = "language=%s&format=simple" % locale
    if lid_candidates:
        query = "language=%s" % lid_candidates[0].lower()
    path = path or "/speech/recognition/interactive/cognitiveservices/v1"
    ws = Socket(host, port, "%s?%s" % (path, query), deadline, connect, clock)
    try:
        request_id = uuid.uuid4().hex
        ws.send_text(text_message("speech.config", speech_config()))
        context = {"phraseDetection": {"language": locale}} if not lid_candidates else {
            "phraseDetection": {"mode": "None"}, "languageId": {"languages": list(lid_candidates), "onSuccess": {"action": "None"},
                                                                "onUnknown": {"action": "None"}, "mode": "DetectAtAudioStart",
                                                                "Priority": "PrioritizeLatency"}}
        ws.send_text(text_message("speech.context", json.dumps(context), request_id))
        ws.send_binary(binary_message("audio", wav_header(), request_id, "audio/x-wav"))
        for offset in range(0, len(audio), CHUNK):
            ws.send_binary(binary_message("audio", audio[offset:offset + CHUNK], request_id))
        ws.send_binary(binary_message("audio", b"", request_id))
        started, phrase = False, None
        for path_name, _headers, body in _turn_messages(ws, request_id):
            if path_name == "turn.start":
                started = True
            elif path_name == "speech.phrase":
                try:
                    phrase = json.loads(body if isinstance(body, str) else body.decode("utf-8"))
                except ValueError:
                    raise Failure("protocol", "the phrase is not JSON")
        if not started:
            raise Failure("protocol", "turn.end came without turn.start")
        if phrase is None:
            raise Failure("protocol", "the turn ended without a phrase")
        status = phrase.get("RecognitionStatus")
        if status in ERROR_STATUSES:
            raise Failure("status_" + status, "the phrase's RecognitionStatus is %s" % status, status=status)
        if status not in ("Success",) + QUIET_STATUSES:
            raise Failure("protocol", "the phrase's RecognitionStatus %r is not one the SDK knows" % status, status=status)
        return phrase
    finally:
        ws.close()


def ssml(voice, text):
    locale = voice.rsplit("-", 1)[0] if "-" in voice else "en-US"
    return ("<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='%s'><voice name='%s'>%s</voice></speak>"
            % (locale, voice, text))


def synthesize(host, port, voice, text, deadline, path="/cognitiveservices/websocket/v1", connect=socket.create_connection, clock=time.monotonic):
    """One synthesis turn, as SpeechSynthesizer.speak_text_async() runs it; returns the raw 16 kHz 16-bit mono PCM."""
    ws = Socket(host, port, path, deadline, connect, clock)
    try:
        request_id = uuid.uuid4().hex
        ws.send_text(text_message("speech.config", json.dumps({"context": {"system": {"name": "SpeechSDK", "version": "1.53.0"}}})))
        context = {"synthesis": {"audio": {"outputFormat": "raw-16khz-16bit-mono-pcm", "metadataOptions": {"sessionEndEnabled": True}},
                                 "language": {"autoDetection": False}}}
        ws.send_text(text_message("synthesis.context", json.dumps(context), request_id))
        ws.send_text(text_message("ssml", ssml(voice, text), request_id, "application/ssml+xml"))
        started, audio = False, []
        for path_name, _headers, body in _turn_messages(ws, request_id):
            if path_name == "turn.start":
                started = True
            elif path_name == "audio" and isinstance(body, bytes):
                audio.append(body)
        if not started:
            raise Failure("protocol", "turn.end came without turn.start")
        return b"".join(audio)
    finally:
        ws.close()


def identify(host, port, candidates, audio, deadline, connect=socket.create_connection, clock=time.monotonic):
    """A language identification turn, as SourceLanguageRecognizer runs it: (the phrase, the path that answered).

    /speech/universal/v2 first, /speech/languagedetection/cognitiveservices/v1 when that answers 404."""
    tried = []
    for path in ("/speech/universal/v2", "/speech/languagedetection/cognitiveservices/v1"):
        try:
            phrase = recognize(host, port, candidates[0], audio, deadline, lid_candidates=candidates, path=path, connect=connect, clock=clock)
        except Failure as failure:
            if failure.kind == "upgrade" and failure.status == 404:
                tried.append(path)
                continue
            raise
        language = phrase.get("PrimaryLanguage")
        if language is not None and (not isinstance(language, dict) or not language.get("Language") or not language.get("Confidence")):
            raise Failure("protocol", "the phrase's PrimaryLanguage lacks Language or Confidence")
        return phrase, path
    raise Failure("upgrade", "no language identification path answered (%s: 404)" % ", ".join(tried), status=404)
