"""A fault-injecting proxy in front of the Docker engine's socket (a TEST FIXTURE).

    docker_fault_proxy.py --listen /run/speech-fault.sock --engine /var/run/docker.sock --rules /run/speech-fault-rules.json

Requests are passed to the engine untouched, except those that match a rule of the
rules file (read again whenever it changes):

    [{"method": "POST", "path": "^/containers/tts/rename", "status": 500, "message": "...", "times": 1}]

A matching request gets the rule's status with the engine's error shape
({"message": ...}) and never reaches the engine; "times" (optional) limits how often
a rule fires. Every request is logged (method, path, injected or not) to --log; the
moment a rule first fires (seconds since the epoch) is written to --fired, unless that
file exists already (a test removes it to time the next refusal).
The roles are pointed at the proxy with speech_containers_docker_host; they never
know it is there.

A rule's path is matched against the request's path without its API version prefix
(/v1.41/containers/create is matched as /containers/create), and, where the request
names a container by its id (community.docker's modules do), also with the id replaced
by the container's name: a rule on "^/containers/tts\\.previous/stop" fires for
community.docker's stop of that container as it does for a request by name. Each
request is passed on with "Connection: close", so that a client keeping its connection
open (community.docker's) sends its next request on a new connection, which is read
again here.
"""

import argparse
import json
import os
import re
import socket
import socketserver
import threading
import time

STATE = {"mtime": None, "rules": [], "lock": threading.Lock()}


def load_rules(path):
    try:
        mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        STATE["mtime"], STATE["rules"] = None, []
        return
    if mtime != STATE["mtime"]:
        with open(path) as handle:
            text = handle.read().strip()
        STATE["rules"] = json.loads(text) if text else []
        STATE["mtime"] = mtime


VERSIONED = re.compile(r"^/v[0-9.]+(/.*)$")
BY_ID = re.compile(r"^/containers/([0-9a-f]{12,64})(/.*|\?.*|)$")


def engine_get(args, path):
    """One GET to the engine (the proxy's own look: which name a container id has)."""
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    upstream.settimeout(5)
    try:
        upstream.connect(args.engine)
        upstream.sendall(("GET %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n" % path).encode("ascii"))
        raw = b""
        while True:
            chunk = upstream.recv(65536)
            if not chunk:
                break
            raw += chunk
    finally:
        upstream.close()
    head, _sep, body = raw.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        data, rest = b"", body
        while rest:
            size, _sep, rest = rest.partition(b"\r\n")
            size = int(size.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            data, rest = data + rest[:size], rest[size + 2:]
        body = data
    return json.loads(body.decode("utf-8") or "null")


def paths_of(args, path):
    """The paths a rule is matched against: without the version prefix, and with a container's id replaced by its name."""
    versioned = VERSIONED.match(path)
    bare = versioned.group(1) if versioned else path
    found = [bare]
    by_id = BY_ID.match(bare)
    if by_id:
        try:
            name = (engine_get(args, "/containers/%s/json" % by_id.group(1)) or {}).get("Name", "").lstrip("/")
        except (OSError, ValueError):
            name = ""
        if name:
            found.append("/containers/%s%s" % (name, by_id.group(2)))
    return found


def match(args, method, path):
    with STATE["lock"]:
        load_rules(args.rules)
        if not STATE["rules"]:
            return None
        paths = paths_of(args, path)
        for rule in STATE["rules"]:
            if rule.get("method", method) == method and any(re.search(rule["path"], p) for p in paths) and rule.get("times", 1) != 0:
                if "times" in rule:
                    rule["times"] -= 1
                return rule
    return None


def pump(source, target):
    try:
        while True:
            chunk = source.recv(65536)
            if not chunk:
                break
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        args = self.server.args
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        method, path = head.split("\r\n", 1)[0].split(" ")[:2]
        rule = match(args, method, path)
        with open(args.log, "a") as log:
            log.write("%s %s %s%s\n" % (time.strftime("%H:%M:%S"), method, path, " INJECTED %s" % rule["status"] if rule else ""))
        if rule and not os.path.exists(args.fired):
            with open(args.fired, "w") as fired:
                fired.write("%.3f\n" % time.time())
        if rule:
            # Read the request's body before answering, as the engine does: closing with unread bytes
            # makes the kernel reset the connection, and the client sees a broken pipe, not the answer.
            length = re.search(r"(?im)^content-length:\s*(\d+)", head)
            rest = len(data.split(b"\r\n\r\n", 1)[1])
            while length and rest < int(length.group(1)):
                chunk = self.request.recv(65536)
                if not chunk:
                    break
                rest += len(chunk)
            body = json.dumps({"message": rule["message"]}).encode("utf-8")
            self.request.sendall(("HTTP/1.1 %d Injected\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                                  % (rule["status"], len(body))).encode("ascii") + body)
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(args.engine)
        # One request per connection: the engine closes after its answer, so the client's next request comes on a new
        # connection, which this handler reads (and matches) again.
        first, _sep, rest = data.partition(b"\r\n\r\n")
        lines = [line for line in first.split(b"\r\n") if not line.lower().startswith(b"connection:")]
        upstream.sendall(b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + rest)
        back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        back.start()
        pump(self.request, upstream)
        back.join()
        upstream.close()


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", default="/run/speech-fault.sock")
    parser.add_argument("--engine", default="/var/run/docker.sock")
    parser.add_argument("--rules", default="/run/speech-fault-rules.json")
    parser.add_argument("--log", default="/run/speech-fault.log")
    parser.add_argument("--fired", default="/run/speech-fault.fired")
    args = parser.parse_args()
    if os.path.exists(args.listen):
        os.remove(args.listen)
    server = Server(args.listen, Handler)
    os.chmod(args.listen, 0o660)
    server.args = args
    server.serve_forever()


if __name__ == "__main__":
    main()
