"""Licences of disconnected containers: signed by the billing service, verified by the container."""

import hashlib
import hmac
import json

LICENSE_SECRET = b"onprem.speech emulator licence key: 7d1c0f6a-4e1b-4c4e-9a57-0b8f6f0e2d31"
LICENSE_FILE = "license.json"
# Microsoft's message, word for word (container FAQ).
LICENSE_NOT_FOUND = (
    "The provided license path was not found. Please ensure a volume is mounted and a directory exists at the location specified by Mounts:License"
)


def sign_license(payload):
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return {"license": payload, "signature": hmac.new(LICENSE_SECRET, blob, hashlib.sha256).hexdigest()}


def verify_license(document):
    """The payload of a licence document, or raise ValueError naming what is wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("license"), dict) or not isinstance(document.get("signature"), str):
        raise ValueError("the license file is not a license")
    expected = sign_license(document["license"])["signature"]
    if not hmac.compare_digest(expected, document["signature"]):
        raise ValueError("the license signature does not match its content (was it edited?)")
    return document["license"]
