"""Outbound HTTP(S) with the container's proxy settings."""

import base64
import http.client
import ipaddress
import json
import os
import ssl
import urllib.parse

from .common import StartupError


class Proxy:
    """HTTP_PROXY / HTTPS_PROXY / HTTP_PROXY_CREDS / NO_PROXY from settings (args or environment)."""

    def __init__(self, settings):
        self.http = self._parse(settings.get("HTTP_PROXY"))
        self.https = self._parse(settings.get("HTTPS_PROXY")) or self.http
        creds = settings.get("HTTP_PROXY_CREDS")
        self.creds = creds if creds and creds.strip() else None
        self.no_proxy = [e.strip().lower() for e in (settings.get("NO_PROXY") or "").split(",") if e.strip()]

    @staticmethod
    def _parse(value):
        if value is None or not value.strip():
            return None
        value = value.strip()
        if "://" not in value:
            value = "http://" + value
        parts = urllib.parse.urlsplit(value)
        if not parts.hostname:
            raise StartupError("HTTP_PROXY is not a valid proxy URL.")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise StartupError("HTTP_PROXY has an invalid port.") from exc
        userinfo = None
        if parts.username is not None:
            userinfo = "%s:%s" % (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        return {"host": parts.hostname, "port": port, "userinfo": userinfo}

    def bypassed(self, host):
        host = host.lower().strip("[]")
        for entry in self.no_proxy:
            if entry == "*":
                return True
            if "/" in entry:
                try:
                    if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                        return True
                except ValueError:
                    pass
                continue
            entry = entry.lstrip("*").lstrip(".")
            if entry.split(":")[0] and (host == entry.split(":")[0] or host.endswith("." + entry.split(":")[0])):
                return True
        return False

    def for_url(self, scheme, host):
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or self.bypassed(host):
            return None
        return proxy

    def describe(self):
        if not self.http and not self.https:
            return "not set"
        p = self.https or self.http
        return "http://%s:%d%s (NO_PROXY: %s)" % (
            p["host"],
            p["port"],
            " with credentials" if self.creds or p["userinfo"] else "",
            ",".join(self.no_proxy) or "unset",
        )

    def auth_header(self, proxy):
        userinfo = self.creds or proxy["userinfo"]
        if not userinfo:
            return {}
        return {"Proxy-Authorization": "Basic " + base64.b64encode(userinfo.encode()).decode()}


class OutboundError(Exception):
    """The request never got an HTTP answer (DNS, connect, TLS, reset)."""


_CONTEXTS = {}


def _store_stamp():
    """The system CA store's files as they are now (path and mtime of the bundle and the directory)."""
    paths = ssl.get_default_verify_paths()
    stamp = []
    for path in (paths.cafile, paths.capath):
        try:
            stamp.append((path, os.stat(path).st_mtime_ns) if path else None)
        except OSError:
            stamp.append((path, None))
    return tuple(stamp)


def client_context():
    """A verifying client context, made again only when the system CA store changed.

    Making one reads the whole CA bundle (tens of milliseconds); the heartbeat asks for one every few
    seconds in every container, which kept a fleet of idle emulators busy. A CA added to the store
    (update-ca-certificates) changes the stamp, so the next request trusts it, as before."""
    stamp = _store_stamp()
    context = _CONTEXTS.get(stamp)
    if context is None:
        _CONTEXTS.clear()
        context = _CONTEXTS[stamp] = ssl.create_default_context()
    return context


def outbound(method, url, proxy_settings, headers=None, body=None, timeout=8.0):
    """One HTTP(S) request honouring the proxy settings; returns (status, headers, body bytes).

    HTTPS verifies the server against the system CA store (OpenSSL's defaults)."""
    parts = urllib.parse.urlsplit(url)
    scheme, host = parts.scheme, parts.hostname
    port = parts.port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = dict(headers or {})
    proxy = proxy_settings.for_url(scheme, host) if proxy_settings else None
    try:
        if scheme == "https":
            context = client_context()
            if proxy:
                conn = http.client.HTTPSConnection(proxy["host"], proxy["port"], timeout=timeout, context=context)
                conn.set_tunnel(host, port, headers=proxy_settings.auth_header(proxy))
            else:
                conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        elif proxy:
            conn = http.client.HTTPConnection(proxy["host"], proxy["port"], timeout=timeout)
            headers.update(proxy_settings.auth_header(proxy))
            path = "http://%s:%d%s" % (host, port, path)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise OutboundError("%s: %s" % (type(exc).__name__, exc)) from exc
