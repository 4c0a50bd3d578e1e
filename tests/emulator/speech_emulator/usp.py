"""USP messages (the Speech SDK's protocol inside WebSocket messages).

Text message: header lines `Name:value`, each ending CRLF, an empty line, then the body (UTF-8).
Binary message: a 2-byte big-endian length of the header block, the header lines (each
ending CRLF, US-ASCII), then the body. Header names are case-insensitive; a space after
the colon is trimmed. Errors carry the close code the service uses (1007 for a payload in
the wrong format, 1002 for a missing Path or request id) and its reason, worded as in
Microsoft's WebSocket protocol document."""

import datetime
import json
import re
import uuid

PROTOCOL_ERROR = 1002
INVALID_PAYLOAD = 1007
MAX_BINARY_HEADER = 8192
REQUEST_ID = re.compile(r"^[0-9A-Fa-f]{32}$")


class UspError(Exception):
    """A message the service refuses: close the connection with code and reason."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code, self.reason = code, reason


class Message:
    """One USP message: headers (name -> value, original spelling kept) and a body (bytes)."""

    def __init__(self, headers, body=b"", binary=False):
        self.headers = dict(headers)
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.binary = binary

    def header(self, name, default=None):
        name = name.lower()
        for key, value in self.headers.items():
            if key.lower() == name:
                return value
        return default

    @property
    def path(self):
        return (self.header("Path") or "").strip()

    @property
    def request_id(self):
        return (self.header("X-RequestId") or "").strip()

    @property
    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        """The body as a JSON object ({} when empty); UspError 1007 when it is not JSON."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise UspError(INVALID_PAYLOAD, "Incorrect message format. The %s message body is not valid JSON." % (self.path or "message")) from exc
        if not isinstance(value, dict):
            raise UspError(INVALID_PAYLOAD, "Incorrect message format. The %s message body is not a JSON object." % (self.path or "message"))
        return value

    def __repr__(self):
        return "<usp %s %s %s %d bytes>" % ("binary" if self.binary else "text", self.path, self.request_id, len(self.body))


def _parse_headers(block):
    headers = {}
    for line in block.split("\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise UspError(INVALID_PAYLOAD, "Incorrect message format. Header line without a name and a colon.")
        headers[name.strip()] = value.strip()
    return headers


def parse_text(payload):
    """A Message from the payload (bytes or str) of a WebSocket text message."""
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UspError(INVALID_PAYLOAD, "Incorrect message format. Text message decoding into UTF-8 failed.") from exc
    if not payload:
        raise UspError(INVALID_PAYLOAD, "Incorrect message format. Text message contains no data.")
    head, sep, body = payload.partition("\r\n\r\n")
    if not sep:
        raise UspError(INVALID_PAYLOAD, "Incorrect message format. Text message contains no header separator.")
    return Message(_parse_headers(head), body.encode("utf-8"), binary=False)


def parse_binary(payload):
    """A Message from the payload of a WebSocket binary message."""
    if len(payload) < 2:
        raise UspError(INVALID_PAYLOAD, "Incorrect message format. Binary message has invalid header size prefix.")
    size = int.from_bytes(payload[:2], "big")
    if size > MAX_BINARY_HEADER or size > len(payload) - 2:
        raise UspError(INVALID_PAYLOAD, "Incorrect message format. Binary message has invalid header size.")
    try:
        block = payload[2:2 + size].decode("ascii")
    except UnicodeDecodeError as exc:
        raise UspError(INVALID_PAYLOAD, "Incorrect message format. Binary message headers decoding into UTF-8 failed.") from exc
    return Message(_parse_headers(block), payload[2 + size:], binary=True)


def timestamp():
    """X-Timestamp: ISO 8601 UTC with milliseconds."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)


def new_request_id():
    return uuid.uuid4().hex


def is_request_id(value):
    """A UUID in no-dash form (32 hex digits)."""
    return bool(value and REQUEST_ID.match(value))


def _header_block(path, request_id, content_type, headers):
    items = [("Path", path)]
    if request_id:
        items.append(("X-RequestId", request_id))
    items.append(("X-Timestamp", timestamp()))
    if content_type:
        items.append(("Content-Type", content_type))
    items.extend((headers or {}).items())
    return "".join("%s:%s\r\n" % (name, value) for name, value in items)


def build_text(path, request_id, body=None, content_type="application/json; charset=utf-8", headers=None):
    """The payload of a text message; a dict body is sent as JSON, None as an empty body."""
    if body is None:
        body, content_type = "", None if content_type == "application/json; charset=utf-8" else content_type
    elif isinstance(body, (dict, list)):
        body = json.dumps(body)
    return _header_block(path, request_id, content_type, headers) + "\r\n" + body


def build_binary(path, request_id, body=b"", content_type=None, headers=None):
    """The payload of a binary message."""
    block = _header_block(path, request_id, content_type, headers).encode("ascii")
    if len(block) > MAX_BINARY_HEADER:
        raise ValueError("binary message headers are larger than %d bytes" % MAX_BINARY_HEADER)
    return len(block).to_bytes(2, "big") + block + body
