"""The billing service the containers report to (the emulator's own protocol), with its admin API."""

import argparse
import datetime
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import urllib.parse
import uuid

from .common import KINDS, STATUS_CODES, STATUS_MESSAGES, iso, utcnow
from .httpd import Handler, Server
from .licences import sign_license


class Billing:
    def __init__(self, keys_path, state_path=None, license_days=365):
        self.keys_path = keys_path
        self.state_path = state_path
        self.license_days = license_days
        self.lock = threading.Lock()
        self.down = False
        # Endpoint host names billing does not answer for (a test scenario's own name; the others go on).
        self.down_hosts = set()
        with open(keys_path, encoding="utf-8") as fh:
            self.keys = json.load(fh).get("keys", {})
        self.usage = {}
        if state_path and os.path.isfile(state_path):
            try:
                with open(state_path, encoding="utf-8") as fh:
                    self.usage = json.load(fh).get("usage", {})
            except (OSError, ValueError):
                self.usage = {}

    def log(self, message):
        sys.stdout.write("%s billing: %s\n" % (iso(utcnow()), message))
        sys.stdout.flush()

    def entry(self, key):
        return self.keys.get(key or "")

    def status_of(self, entry):
        if entry is None:
            return "Invalid"
        if entry.get("status"):
            return entry["status"]
        if str(entry.get("resource", "SpeechServices")).lower() != "speechservices":
            return "Mismatch"
        return "Valid"

    def save_state(self):
        if not self.state_path:
            return
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"usage": self.usage}, fh)
        os.replace(tmp, self.state_path)

    def save_keys(self):
        tmp = self.keys_path + ".tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"keys": self.keys}, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.keys_path)
        except OSError as exc:
            self.log("could not save the keys file: %s" % exc)


def make_billing_handler(billing):
    b = billing

    class BillingHandler(Handler):
        def refuse(self, code, status, message):
            self.reply(code, {"status": status, "message": message})

        def handle_billing(self, method):
            path = self.path.split("?")[0]
            try:
                raw = self.body()
            except ValueError:
                return self.refuse(413, "Unknown", "body too large")
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            if b.down or host in b.down_hosts:
                # As if unreachable: no answer at all.
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return None
            key = self.headers.get("Ocp-Apim-Subscription-Key", "")
            entry = b.entry(key)
            name = entry.get("name", "?") if entry else "unknown key"
            status = b.status_of(entry)
            try:
                payload = json.loads(raw.decode() or "{}")
            except ValueError:
                payload = {}
            if not isinstance(payload, dict):
                payload = {}
            code = STATUS_CODES.get(status, 403) if status != "Valid" else 200
            if method == "POST" and path == "/containers/v1/status":
                b.log("status check by %s: %s" % (name, status))
                return self.refuse(code, status, STATUS_MESSAGES.get(status, ""))
            if method == "POST" and path == "/containers/v1/usage":
                if status != "Valid":
                    b.log("usage report refused for %s: %s" % (name, status))
                    return self.refuse(code, status, STATUS_MESSAGES.get(status, ""))
                meter = payload.get("meter") or {}
                with b.lock:
                    record = b.usage.setdefault(name, {"reports": 0, "meters": {}, "containers": {}, "last": None})
                    record["reports"] += 1
                    try:
                        quantity = float(meter.get("quantity") or 0)
                    except (TypeError, ValueError):
                        quantity = 0.0
                    mname = str(meter.get("name") or "unknown")
                    record["meters"][mname] = record["meters"].get(mname, 0) + quantity
                    cid = str(payload.get("containerId") or "?")
                    record["containers"][cid] = {
                        "containerType": payload.get("containerType"),
                        "containerVersion": payload.get("containerVersion"),
                        "last": iso(utcnow()),
                    }
                    record["last"] = iso(utcnow())
                    b.save_state()
                b.log(
                    "usage from %s (%s %s, container %s): %s %s"
                    % (
                        name,
                        payload.get("containerType"),
                        payload.get("containerVersion"),
                        payload.get("containerId"),
                        meter.get("quantity"),
                        meter.get("name"),
                    )
                )
                return self.reply(200, {"status": "Valid", "accepted": True})
            if method == "POST" and path == "/containers/v1/license":
                if status != "Valid":
                    return self.refuse(code, status, STATUS_MESSAGES.get(status, ""))
                if entry.get("mode") != "disconnected":
                    b.log("license refused for %s: not approved for disconnected containers" % name)
                    return self.refuse(
                        403,
                        "ContainerUseUnauthorized",
                        "This resource is not approved for disconnected containers (it needs the 'Commitment tier disconnected containers' DC0 pricing tier).",
                    )
                kind = payload.get("containerType")
                if kind not in KINDS or not KINDS[kind]["disconnected"]:
                    return self.refuse(400, "Unknown", "Container type %r cannot run disconnected." % kind)
                days = float(entry.get("license_days", b.license_days))
                now = utcnow()
                licence = sign_license(
                    {
                        "licenseId": str(uuid.uuid4()),
                        "containerType": kind,
                        "containerVersion": payload.get("containerVersion"),
                        "modelId": payload.get("modelId"),
                        "issuedTo": name,
                        "issuedAt": iso(now),
                        "expiresAt": iso(now + datetime.timedelta(days=days)),
                    }
                )
                b.log("license issued to %s for %s %s (%g days)" % (name, kind, payload.get("containerVersion"), days))
                return self.reply(200, licence)
            if method == "GET" and path.startswith("/containers/v1/models/"):
                model_id = urllib.parse.unquote(path[len("/containers/v1/models/") :])
                if status != "Valid":
                    return self.refuse(code, status, STATUS_MESSAGES.get(status, ""))
                if entry.get("mode") == "disconnected":
                    return self.refuse(
                        403,
                        "ContainerUseUnauthorized",
                        "A disconnected (DC0) resource cannot download custom models; use a Standard (S0) Speech resource's key.",
                    )
                if not re.match(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$", model_id) or model_id in entry.get("missing_models", []):
                    return self.refuse(404, "Unknown", "Model %s was not found." % model_id)
                b.log("model %s downloaded by %s" % (model_id, name))
                return self.reply(200, {"modelId": model_id, "locale": entry.get("model_locale", "en-US"), "name": "custom model " + model_id})
            return self.reply(404, {"status": "Unknown", "message": "no such billing endpoint"})

        def do_POST(self):
            self.handle_billing("POST")

        def do_GET(self):
            self.handle_billing("GET")

    return BillingHandler


def make_admin_handler(billing):
    b = billing

    class AdminHandler(Handler):
        def do_GET(self):
            path = self.path.split("?")[0]
            if path == "/admin/usage":
                with b.lock:
                    return self.reply(200, {"down": b.down, "usage": json.loads(json.dumps(b.usage))})
            if path == "/admin/keys":
                return self.reply(
                    200, {"keys": [{"name": e.get("name"), "mode": e.get("mode", "connected"), "status": b.status_of(e)} for e in b.keys.values()]}
                )
            if path in ("/admin/health", "/"):
                return self.reply(200, {"ok": True, "down": b.down})
            return self.reply(404, {"error": "no such admin endpoint"})

        def do_POST(self):
            path = self.path.split("?")[0]
            try:
                raw = self.body()
                payload = json.loads(raw.decode() or "{}")
            except ValueError:
                return self.reply(400, {"error": "the body must be JSON"})
            host = str(payload.get("host") or "").lower() if isinstance(payload, dict) else ""
            if path == "/admin/down":
                # {"host": name}: down for that endpoint name only (scenarios run side by side share billing).
                if host:
                    b.down_hosts.add(host)
                else:
                    b.down = True
                b.log("admin: billing is DOWN for %s (requests get no answer)" % (host or "every endpoint"))
                return self.reply(200, {"down": b.down, "down_hosts": sorted(b.down_hosts)})
            if path == "/admin/up":
                if host:
                    b.down_hosts.discard(host)
                else:
                    b.down = False
                    b.down_hosts.clear()
                b.log("admin: billing is up for %s" % (host or "every endpoint"))
                return self.reply(200, {"down": b.down, "down_hosts": sorted(b.down_hosts)})
            if path == "/admin/reset":
                with b.lock:
                    b.usage = {}
                    b.save_state()
                return self.reply(200, {"usage": {}})
            if path == "/admin/keys":
                items = payload if isinstance(payload, list) else [payload]
                for item in items:
                    if not isinstance(item, dict) or not item.get("key"):
                        return self.reply(400, {"error": 'each key needs {"key": ..., "name": ..., "mode": connected|disconnected}'})
                with b.lock:
                    for item in items:
                        entry = {k: v for k, v in item.items() if k != "key"}
                        entry.setdefault("name", "key-%d" % (len(b.keys) + 1))
                        entry.setdefault("mode", "connected")
                        b.keys[item["key"]] = entry
                    b.save_keys()
                b.log("admin: %d key(s) added" % len(items))
                return self.reply(200, {"added": [i.get("name") for i in items]})
            return self.reply(404, {"error": "no such admin endpoint"})

    return AdminHandler


def billing_main(argv):
    parser = argparse.ArgumentParser(prog="speech_emulator billing", description="The emulator's billing service.")
    parser.add_argument("--keys", required=True, help='JSON file {"keys": {"<key>": {"name": ..., "mode": connected|disconnected}}}')
    parser.add_argument("--listen", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--admin-listen", default="0.0.0.0")
    parser.add_argument("--admin-port", type=int, default=8080)
    parser.add_argument("--cert", help="PEM certificate chain for HTTPS")
    parser.add_argument("--key", help="PEM private key for HTTPS")
    parser.add_argument("--plain-http", action="store_true", help="serve billing over plain HTTP (unit tests)")
    parser.add_argument("--state", help="JSON file keeping the usage counts across restarts")
    parser.add_argument("--license-days", type=float, default=365.0)
    args = parser.parse_args(argv)
    billing = Billing(args.keys, args.state, args.license_days)
    server = Server((args.listen, args.port), make_billing_handler(billing))
    if not args.plain_http:
        if not args.cert or not args.key:
            parser.error("--cert and --key are needed unless --plain-http")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.tls_context = context
    admin = Server((args.admin_listen, args.admin_port), make_admin_handler(billing))
    threading.Thread(target=admin.serve_forever, name="admin", daemon=True).start()

    def shutdown(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    billing.log(
        "serving %s on %s:%d (%d keys), admin on http://%s:%d"
        % ("http" if args.plain_http else "https", args.listen, server.server_address[1], len(billing.keys), args.admin_listen, admin.server_address[1])
    )
    server.serve_forever(poll_interval=0.2)
    return 0
