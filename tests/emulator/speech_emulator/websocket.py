"""The server side of RFC 6455 WebSocket: the handshake answer, frames, messages and the closing handshake.

Reads go straight to the socket through select(), never through a buffered file with a
timeout (a timed-out socket file cannot be read again), so a partial frame survives a
poll that found nothing more to read."""

import base64
import hashlib
import select
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Opcodes
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

# Close codes (RFC 6455 section 7.4.1) used by the emulator
NORMAL = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002
INVALID_PAYLOAD = 1007
MESSAGE_TOO_BIG = 1009
SERVER_ERROR = 1011

MAX_MESSAGE = 4 * 1024 * 1024


def accept_key(key):
    """The Sec-WebSocket-Accept answer to a Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def valid_client_key(key):
    """A Sec-WebSocket-Key is the base64 of 16 bytes."""
    try:
        return len(base64.b64decode((key or "").strip(), validate=True)) == 16
    except ValueError:
        return False


def frame(opcode, payload=b"", fin=True, mask=None):
    """One frame; server frames are not masked (mask is for tests that play the client)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if mask is not None else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", n)
    if mask is not None:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + payload


def close_payload(code, reason=""):
    """The body of a close frame: the code and a UTF-8 reason cut to fit a control frame (125 bytes)."""
    data = reason.encode("utf-8")[:123]
    while True:
        try:
            data.decode("utf-8")
            break
        except UnicodeDecodeError:
            data = data[:-1]
    return struct.pack(">H", code) + data


def parse_frame(buffer, max_size=MAX_MESSAGE):
    """(fin, opcode, payload, consumed) of the first frame in buffer, or None when it is incomplete.

    Raises ProtocolError for what RFC 6455 calls a failure of the connection."""
    if len(buffer) < 2:
        return None
    b0, b1 = buffer[0], buffer[1]
    fin, opcode = bool(b0 & 0x80), b0 & 0x0F
    if b0 & 0x70:
        raise ProtocolError(PROTOCOL_ERROR, "Reserved bits set without a negotiated extension.")
    masked, length = b1 & 0x80, b1 & 0x7F
    pos = 2
    if length == 126:
        if len(buffer) < 4:
            return None
        length = struct.unpack(">H", bytes(buffer[2:4]))[0]
        pos = 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        length = struct.unpack(">Q", bytes(buffer[2:10]))[0]
        pos = 10
    if opcode >= 0x8 and (length > 125 or not fin):
        raise ProtocolError(PROTOCOL_ERROR, "Control frames must be whole and at most 125 bytes.")
    if opcode not in (CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG):
        raise ProtocolError(PROTOCOL_ERROR, "Unknown opcode %d." % opcode)
    if length > max_size:
        raise ProtocolError(MESSAGE_TOO_BIG, "Frame of %d bytes is too large." % length)
    if not masked:
        raise ProtocolError(PROTOCOL_ERROR, "Client frames must be masked.")
    if len(buffer) < pos + 4 + length:
        return None
    mask = bytes(buffer[pos:pos + 4])
    pos += 4
    data = bytes(buffer[pos:pos + length])
    if length:
        # XOR with the mask, 8 bytes at a time through int.from_bytes (fast enough in pure Python).
        key = int.from_bytes((mask * ((length + 3) // 4 + 1))[:length], "big")
        data = (int.from_bytes(data, "big") ^ key).to_bytes(length, "big")
    return fin, opcode, data, pos + length


class ProtocolError(Exception):
    """The peer broke RFC 6455 (or the emulator's limits): close with this code and reason."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code, self.reason = code, reason


class Closed(Exception):
    """The connection is over (the peer closed it, or it broke)."""

    def __init__(self, code=None, reason=""):
        super().__init__(reason or "closed")
        self.code, self.reason = code, reason


class Connection:
    """A server-side WebSocket connection over a connected socket, used from one thread."""

    def __init__(self, sock, initial=b"", max_message=MAX_MESSAGE, send_timeout=30.0):
        self.sock = sock
        self.buffer = bytearray(initial)
        self.max_message = max_message
        self.fragments = None  # (opcode, [payloads]) of a fragmented message in progress
        self.closing = False
        self.closed = False
        self.close_code = None
        self.close_reason = ""
        self.last_sent = self.last_received = time.monotonic()
        sock.settimeout(send_timeout)

    # ---- reading

    def _fill(self, timeout):
        """Read what the socket has within timeout; False when nothing came."""
        if timeout is not None and timeout <= 0:
            timeout = 0
        try:
            readable, _w, _x = select.select([self.sock], [], [], timeout)
        except (OSError, ValueError) as exc:
            raise Closed(None, str(exc)) from exc
        if not readable:
            return False
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError as exc:
            raise Closed(None, str(exc)) from exc
        if not chunk:
            raise Closed(None, "the peer went away without a close frame")
        self.buffer += chunk
        return True

    def receive(self, timeout=None):
        """The next data message as (opcode, payload) with opcode TEXT or BINARY; None when timeout passes.

        Answers pings, completes the closing handshake (then raises Closed), joins fragments."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            parsed = parse_frame(self.buffer, self.max_message)
            if parsed is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._fill(remaining)
                continue
            fin, opcode, payload, consumed = parsed
            del self.buffer[:consumed]
            self.last_received = time.monotonic()
            if opcode == PING:
                self._send(frame(PONG, payload))
                continue
            if opcode == PONG:
                continue
            if opcode == CLOSE:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                reason = payload[2:].decode("utf-8", errors="replace")
                if not self.closing:
                    self.closing = True
                    try:
                        self._send(frame(CLOSE, payload[:2]))
                    except Closed:
                        pass
                self.closed = True
                self.close_code, self.close_reason = code, reason
                raise Closed(code, reason)
            if opcode == CONTINUATION:
                if self.fragments is None:
                    raise ProtocolError(PROTOCOL_ERROR, "Continuation frame without a message to continue.")
                self.fragments[1].append(payload)
                if sum(len(p) for p in self.fragments[1]) > self.max_message:
                    raise ProtocolError(MESSAGE_TOO_BIG, "Message too large.")
                if fin:
                    opcode, parts = self.fragments
                    self.fragments = None
                    return opcode, b"".join(parts)
                continue
            if self.fragments is not None:
                raise ProtocolError(PROTOCOL_ERROR, "New data frame inside a fragmented message.")
            if not fin:
                self.fragments = (opcode, [payload])
                continue
            return opcode, payload

    # ---- writing

    def _send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise Closed(None, str(exc)) from exc
        self.last_sent = time.monotonic()

    def send_text(self, text):
        self._send(frame(TEXT, text.encode("utf-8") if isinstance(text, str) else text))

    def send_binary(self, data):
        self._send(frame(BINARY, data))

    def close(self, code=NORMAL, reason="", wait=2.0):
        """Send a close frame (once), wait a little for the peer's, then shut the socket."""
        if not self.closing and not self.closed:
            self.closing = True
            self.close_code, self.close_reason = code, reason
            try:
                self._send(frame(CLOSE, close_payload(code, reason)))
            except Closed:
                self.closed = True
        deadline = time.monotonic() + wait
        while not self.closed and time.monotonic() < deadline:
            try:
                self.receive(timeout=deadline - time.monotonic())
            except (Closed, ProtocolError):
                break
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @property
    def idle_seconds(self):
        return time.monotonic() - max(self.last_sent, self.last_received)
