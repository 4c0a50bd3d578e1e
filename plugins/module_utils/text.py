# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's words about text, one rule each, for the modules on the host and the plugins on the controller:

- `redact(text, secrets)`: every given secret replaced by <hidden> (the longest first, so a secret that contains another
  is hidden whole); empty ones ignored;
- `scrub(text)`: anything that looks like a key or token replaced, for text whose secrets are not known (a container's
  answer, a log line);
- `excerpt(text, limit)`: one line, whitespace collapsed, cut to `limit` characters with "...";
- `client_url(protocol, host, port)`: how a client reaches a container, an IPv6 address in brackets.

Standard library only (module_utils is shipped to the hosts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

HIDDEN = "<hidden>"

SECRET_PATTERNS = [
    re.compile(r"(?i)((?:api[-_ ]?key|subscription[-_ ]?key|ocp-apim-subscription-key|authorization|access[-_ ]?token|password|token)"
               r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&<>]+"),
    re.compile(r"\b[0-9a-fA-F]{32}\b"),
    re.compile(r"\b[A-Za-z0-9+/_-]{40,}={0,2}"),
]


def redact(text, secrets=()):
    """The text with every given secret replaced by <hidden>; empty secrets are ignored."""
    text = "" if text is None else str(text)
    for secret in sorted(set(str(s) for s in secrets or () if s), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def scrub(text):
    """The text without anything that looks like a key or token."""
    text = SECRET_PATTERNS[0].sub(lambda m: m.group(1) + HIDDEN, "" if text is None else str(text))
    for pattern in SECRET_PATTERNS[1:]:
        text = pattern.sub(HIDDEN, text)
    return text


def excerpt(text, limit=80):
    """One line of at most limit characters: whitespace collapsed, the rest cut with "..."."""
    text = " ".join(("" if text is None else str(text)).split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def url_host(host):
    """A host as it goes into a URL: an IPv6 address in brackets (once)."""
    host = str(host or "")
    return "[%s]" % host if ":" in host and not host.startswith("[") else host


def client_url(protocol, host, port):
    """How a Speech SDK client reaches a container: ws://host:port or http://host:port, an IPv6 host bracketed."""
    return "%s://%s:%d" % (protocol, url_host(host), int(port))
