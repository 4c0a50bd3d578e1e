# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy's runtime API (its stats socket), as the gateway_runtime module uses it.

parse_stat()   `show stat` CSV -> one dict per line
drain()        each server to DRAIN (no new sessions), wait (bounded) until its sessions ended, then MAINT
enable()       each server to READY, wait (bounded) until the health checks say UP
servers()      what the report shows: each backend's servers, their state and sessions

The socket speaks one command per connection and closes after its answer (HAProxy's non-interactive mode).
Reference: HAProxy's management guide, "Unix Socket commands" (show stat; set server <b>/<s> state ...).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import time


class GatewayError(Exception):
    """A command HAProxy refused or a socket it did not answer on, in plain words."""


def command(path, text, timeout=5):
    """Send one command to the stats socket; its answer as text."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        sock.sendall((text + "\n").encode("utf-8"))
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    except (OSError, socket.timeout) as error:
        reason = getattr(error, "strerror", None) or error
        raise GatewayError("HAProxy's runtime socket %s: %s (is haproxy running, with 'stats socket %s level admin'?)" % (path, reason, path))
    finally:
        sock.close()
    return b"".join(chunks).decode("utf-8", "replace")


def parse_stat(text):
    """`show stat` CSV (a '# pxname,svname,...' header line) -> [dict]."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines or not lines[0].startswith("#"):
        return []
    header = [h.strip() for h in lines[0].lstrip("#").split(",")]
    rows = []
    for line in lines[1:]:
        values = line.split(",")
        rows.append(dict(zip(header, values)))
    return rows


def _number(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


def server_rows(text, wanted=None):
    """{(backend, server): {status, sessions, total, check}} of the server lines (not FRONTEND/BACKEND)."""
    found = {}
    for row in parse_stat(text):
        name = row.get("svname")
        if name in ("FRONTEND", "BACKEND") or not name:
            continue
        pair = (row.get("pxname"), name)
        if wanted is not None and pair not in wanted:
            continue
        found[pair] = {"status": row.get("status") or "", "sessions": _number(row.get("scur")), "total": _number(row.get("stot")),
                       "check": row.get("check_status") or "", "address": row.get("addr") or ""}
    return found


def set_state(path, pairs, state):
    for backend, server in pairs:
        answer = command(path, "set server %s/%s state %s" % (backend, server, state)).strip()
        if answer:
            raise GatewayError("set server %s/%s state %s: %s" % (backend, server, state, answer))


def drain(path, pairs, timeout, interval=1.0, sleep=time.sleep, clock=time.monotonic):
    """DRAIN, wait until no session is left (at most timeout s), then MAINT. Returns (waited s, sessions left at the end)."""
    set_state(path, pairs, "drain")
    started = clock()
    while True:
        rows = server_rows(command(path, "show stat"), set(pairs))
        missing = [p for p in pairs if p not in rows]
        if missing:
            raise GatewayError("HAProxy has no server %s" % ", ".join("%s/%s" % p for p in missing))
        left = sum(row["sessions"] for row in rows.values())
        if left == 0 or clock() - started >= timeout:
            break
        sleep(interval)
    set_state(path, pairs, "maint")
    return round(clock() - started, 1), left


def enable(path, pairs, timeout, interval=1.0, sleep=time.sleep, clock=time.monotonic):
    """READY, then wait until every server's checks say UP (at most timeout s). Returns (waited s, {pair: status} not UP)."""
    set_state(path, pairs, "ready")
    started = clock()
    while True:
        rows = server_rows(command(path, "show stat"), set(pairs))
        # "UP" alone: "UP 1/2" is a server whose last check failed (on its way down), "DOWN 1/2" one on its way up.
        down = dict(("%s/%s" % pair, (rows.get(pair) or {}).get("status", "absent")) for pair in pairs
                    if (rows.get(pair) or {}).get("status") not in ("UP", "no check"))
        if not down or clock() - started >= timeout:
            return round(clock() - started, 1), down
        sleep(interval)


def servers(path):
    """[{backend, server, status, sessions, total, check, address}] of every server HAProxy knows."""
    rows = server_rows(command(path, "show stat"))
    return [dict(backend=pair[0], server=pair[1], **row) for pair, row in sorted(rows.items())]
