"""The diagnostic container (a one-shot run)."""

import http.client
import json
import socket
import ssl
import urllib.parse

from .common import STATUS_MESSAGES, StartupError
from .network import OutboundError, Proxy, outbound
from .settings import Settings, billing_origin


def run_diagnostic(argv, environ):
    try:
        settings = Settings(argv, environ)
        proxy = Proxy(settings)
    except StartupError as exc:
        print(str(exc))
        return 1
    key = settings.get("ApiKey", "").strip()
    secrets = [k for k in (key, settings.get("HTTP_PROXY_CREDS", "")) if k]

    def say(line):
        for secret in secrets:
            if len(secret) >= 4:
                line = line.replace(secret, "***")
        print(line, flush=True)

    say("Azure AI containers diagnostic (emulator)")
    ok = True
    if str(settings.get("Eula", "")).strip().lower() != "accept":
        say("[FAIL] Eula=accept was not given.")
        ok = False
    billing = settings.get("Billing", "")
    origin = billing_origin(billing) if billing.strip() else None
    if origin is None:
        say("Invalid Billing Endpoint URI.")
        return 1
    say("[PASS] Billing endpoint URI is valid: %s" % origin)
    parts = urllib.parse.urlsplit(origin)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    via = proxy.for_url(parts.scheme, host)
    if via:
        say("[INFO] Outbound calls go through the proxy %s:%d" % (via["host"], via["port"]))
        say("[SKIP] DNS: %s is resolved by the proxy" % host)
    else:
        try:
            addresses = sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
            say("[PASS] DNS: %s resolves to %s" % (host, ", ".join(addresses)))
        except OSError as exc:
            say("[FAIL] DNS: %s does not resolve (%s)" % (host, exc))
            say("Some checks failed.")
            return 1
    try:
        if parts.scheme == "https":
            if via:
                conn = http.client.HTTPSConnection(via["host"], via["port"], timeout=8, context=ssl.create_default_context())
                conn.set_tunnel(host, port, headers=proxy.auth_header(via))
            else:
                conn = http.client.HTTPSConnection(host, port, timeout=8, context=ssl.create_default_context())
            conn.connect()
            peer = conn.sock.getpeercert() or {}
            issuer = dict(x[0] for x in peer.get("issuer", ())).get("commonName", "?")
            conn.close()
            say("[PASS] TLS: connected to %s:%d, certificate verified (issued by %s)" % (host, port, issuer))
        else:
            sock = socket.create_connection((via["host"], via["port"]) if via else (host, port), timeout=8)
            sock.close()
            say("[PASS] Connection: connected to %s:%d (plain HTTP, no TLS)" % (host, port))
    except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
        say("[FAIL] %s: cannot connect to %s:%d (%s)" % ("TLS" if parts.scheme == "https" else "Connection", host, port, exc))
        say("Some checks failed.")
        return 1
    if not key:
        say("[FAIL] ApiKey was not given.")
        ok = False
    else:
        try:
            code, _h, data = outbound(
                "POST", origin + "/containers/v1/status", proxy, headers={"Ocp-Apim-Subscription-Key": key}, body={"containerType": "diagnostic"}
            )
            try:
                status = json.loads(data.decode()).get("status", "Unknown")
            except (ValueError, AttributeError):
                status = "Unknown"
            if code >= 500:
                status = "CouldNotConnect"
            if code == 200 and status == "Valid":
                say("[PASS] API key accepted by the billing endpoint (status Valid)")
            else:
                say("[FAIL] API key not accepted by the billing endpoint (status %s): %s" % (status, STATUS_MESSAGES.get(status, "")))
                ok = False
        except OutboundError as exc:
            say("[FAIL] Billing endpoint did not answer the key check (%s)" % exc)
            ok = False
    say("All checks passed." if ok else "Some checks failed.")
    return 0 if ok else 1
