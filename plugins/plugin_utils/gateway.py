# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway's routes, from the fleet's container plans (controller side only).

routes()          the fleet's plans -> one route per service (a kind and its locale, voice or model), its port and backends
check_settings()  the gateway's own settings (TLS, client keys, ports, timeouts) -> problems, each naming its variable
key_hashes()      client keys -> the SHA-256 hashes HAProxy compares (the keys themselves are never written)
backend_servers() the (backend, server) pairs of one speech host, for draining and enabling it

A service is what an application asks for: "stt/en-US", "ntts/en-US-AriaNeural", "lid",
"custom_stt/<model id>". Its backends are every fleet host's container of that service; the
gateway listens for it on one port, by default the port its containers use on the hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.onprem.speech.plugins.module_utils import speech_kinds as sk

SCHEMES = {"ws": "wss", "http": "https"}
NAME_RE = re.compile(r"[^A-Za-z0-9_.-]+")


def service_key(spec):
    """stt/en-US, ntts/en-US-AriaNeural, custom_stt/<model id>, lid."""
    selector = sk.KINDS[spec["kind"]].get("selector")
    value = spec.get(selector) if selector else None
    return "%s/%s" % (spec["kind"], value) if value else spec["kind"]


def proxy_name(key):
    """An HAProxy frontend and backend name for a service key (letters, digits, '_', '.', '-')."""
    return "speech_" + NAME_RE.sub("_", key)


def routes(fleet, ports=None, offset=0, gateway_host="", gateway_address="", gateway_plan=None):
    """One route per service of the fleet.

    fleet: [{"host", "address", "plan": [spec, ...]}] (specs as plan.normalize_plan makes them).
    ports: gateway_ports, {service key: port}. offset: gateway_port_offset, added to a service's host port.
    gateway_plan: this gateway's own container plan, when it is also a speech host (its ports are taken).
    Returns {"routes": [...], "problems": [...]}; a route: key, kind, title, port, scheme, url, frontend, backend,
    servers [{host, name, address, port}]."""
    ports = ports or {}
    problems = []
    found = {}
    for member in fleet or []:
        for spec in member.get("plan") or []:
            if spec.get("state") == "absent":
                continue
            key = service_key(spec)
            route = found.setdefault(key, {"key": key, "kind": spec["kind"], "title": sk.KINDS[spec["kind"]]["title"],
                                           "scheme": SCHEMES[spec["protocol"]], "servers": []})
            route["servers"].append({"host": member["host"], "name": member["host"], "address": member.get("address") or member["host"],
                                     "port": spec["host_port"], "container": spec["name"]})
            # A disconnected container's /status is not documented offline: its health check asks /ready only.
            route["check_status"] = route.get("check_status", True) and not spec.get("disconnected")
    if not found:
        problems.append("gateway_fleet: the hosts it names run no speech container (speech_containers_list): the gateway would have "
                        "nothing to route")
    for key in sorted(ports):
        if key not in found:
            problems.append("gateway_ports['%s']: no host of the fleet runs this service; the fleet's services: %s"
                            % (key, ", ".join(sorted(found)) or "none"))
    taken = {}
    for key in sorted(found):
        route = found[key]
        names = [s["host"] for s in route["servers"]]
        if len(set(names)) != len(names):
            hosts = sorted(set(n for n in names if names.count(n) > 1))
            problems.append("speech_containers_list: %s runs %s twice on %s; a service has one container per host"
                            % (key, route["title"].lower(), ", ".join(hosts)))
        if key in ports:
            port = ports[key]
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                problems.append("gateway_ports['%s']: %r is not a port (1-65535)" % (key, port))
                continue
        else:
            used = sorted(set(s["port"] for s in route["servers"]))
            if len(used) > 1:
                problems.append("gateway_ports: %s runs on different ports on its hosts (%s); give its gateway port as gateway_ports['%s']"
                                % (key, ", ".join("%s:%d" % (s["host"], s["port"]) for s in route["servers"]), key))
                continue
            port = used[0] + int(offset or 0)
            if not 1 <= port <= 65535:
                problems.append("gateway_port_offset: %s gives %s port %d; a port is 1-65535" % (offset, key, port))
                continue
        if port in taken:
            problems.append("gateway_ports: port %d would serve both %s and %s; give one of them another port in gateway_ports"
                            % (port, taken[port], key))
            continue
        taken[port] = key
        route["port"] = port
        route["frontend"] = route["backend"] = proxy_name(key)
        route["url"] = "%s://%s:%d" % (route["scheme"], gateway_address or gateway_host or "GATEWAY", port)
    for spec in gateway_plan or []:
        if spec.get("state") != "absent" and spec["host_port"] in taken:
            problems.append("gateway_port_offset: the gateway on %s would listen on %d for %s, where its own container %s listens; "
                            "set gateway_port_offset (for example 10000) or gateway_ports"
                            % (gateway_host, spec["host_port"], taken[spec["host_port"]], spec["name"]))
    listed = [found[k] for k in sorted(found) if "port" in found[k]]
    return {"routes": listed, "problems": problems}


def key_hashes(keys):
    """The SHA-256 (hex) of each client key: what HAProxy compares the key a request carries with."""
    return sorted(set(hashlib.sha256(str(item.get("key", "")).encode("utf-8")).hexdigest() for item in keys or [] if isinstance(item, dict)))


def text_file(parts):
    """A file's text from its parts: each trimmed and ended by a newline, empty parts left out
    (a certificate then its key; one key hash per line)."""
    return "".join("%s\n" % str(part).strip() for part in parts or [] if part is not None and str(part).strip())


def _pem_problems(name, text, marker):
    if not text:
        return ["%s: empty" % name]
    if "-----BEGIN %s" % marker not in text:
        return ["%s: not PEM (no -----BEGIN %s... line)" % (name, marker)]
    return []


def cert_matches_key(cert_pem, key_pem):
    """(matches, reason): whether the certificate's public key is the private key's; reason when it cannot be told."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
    except ImportError:  # pragma: no cover (ansible-core needs cryptography)
        return True, "cryptography is not installed on the controller: not compared"
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode("utf-8"))
    except ValueError as error:
        return False, "the certificate cannot be read: %s" % error
    try:
        key = serialization.load_pem_private_key(key_pem.encode("utf-8"), password=None)
    except (ValueError, TypeError) as error:
        return False, "the key cannot be read (encrypted, or not a private key): %s" % str(error).split("\n", maxsplit=1)[0]
    form = serialization.PublicFormat.SubjectPublicKeyInfo
    ours = key.public_key().public_bytes(serialization.Encoding.DER, form)
    theirs = cert.public_key().public_bytes(serialization.Encoding.DER, form)
    return ours == theirs, None


def check_settings(settings):
    """The gateway role's settings -> problems, each starting with its variable. No secret is ever quoted."""
    problems = []
    keys = settings.get("client_keys")
    if not isinstance(keys, list) or not keys:
        problems.append("gateway_client_keys: empty; every request would be refused (401). Give the keys your applications send "
                        "(Ocp-Apim-Subscription-Key or Authorization: Bearer), each {name, key}, from a vault")
    else:
        names, values = {}, {}
        for index, item in enumerate(keys):
            where = "gateway_client_keys[%d]" % index
            if not isinstance(item, dict):
                problems.append("%s: give {name: ..., key: ...}" % where)
                continue
            name, key = str(item.get("name") or ""), item.get("key")
            if name:
                where = "%s (%s)" % (where, name)
            if not name.strip():
                problems.append("%s.name: missing; name each key after the application that uses it (the access log may name it)" % where)
            elif name in names:
                problems.append("%s.name: %s is used twice (also gateway_client_keys[%d])" % (where, name, names[name]))
            else:
                names[name] = index
            if not isinstance(key, str) or not key:
                problems.append("%s.key: missing" % where)
            elif key != key.strip() or any(c.isspace() for c in key):
                problems.append("%s.key: holds whitespace (a stray newline from a vault file?); the SDK sends the key as given" % where)
            elif len(key) < 16:
                problems.append("%s.key: shorter than 16 characters; give a random key (for example: openssl rand -hex 32)" % where)
            elif key in values:
                problems.append("%s.key: the same key as gateway_client_keys[%d]; give each application its own" % (where, values[key]))
            else:
                values[key] = index
    if not settings.get("tls_generate"):
        cert, key = settings.get("tls_cert") or "", settings.get("tls_key") or ""
        found = _pem_problems("gateway_tls_cert", cert, "CERTIFICATE") + _pem_problems("gateway_tls_key", key, "")
        if not cert and not key:
            problems.append("gateway_tls_cert, gateway_tls_key: give the gateway's certificate and key (PEM, the key from a vault), "
                            "or set gateway_tls_generate: true to make a test CA and certificate")
        elif found:
            problems.extend(found)
        else:
            matches, reason = cert_matches_key(cert, key)
            if not matches:
                problems.append("gateway_tls_cert, gateway_tls_key: %s" % (reason or "the certificate is not the key's (its public key is "
                                                                                     "another); give the pair that belongs together"))
    client_ca = settings.get("client_ca") or ""
    if client_ca:
        problems.extend(_pem_problems("gateway_client_ca", client_ca, "CERTIFICATE"))
    for name in ("stats_port",):
        value = settings.get(name)
        if value not in (None, 0) and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535):
            problems.append("gateway_%s: %r; give a port (1-65535), or 0 for none" % (name, value))
    for name, low in (("drain_timeout", 0), ("check_interval", 1), ("check_timeout", 1), ("tunnel_timeout", 600)):
        value = settings.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            problems.append("gateway_%s: %r; give a whole number of seconds, at least %d%s" % (
                name, value, low, " (the Speech protocol allows 10 minutes per connection)" if name == "tunnel_timeout" else ""))
    return problems


def backend_servers(routes, host):
    """[{backend, server}] of one speech host in the gateway's routes."""
    return [{"backend": route["backend"], "server": server["name"]} for route in routes or [] for server in route["servers"]
            if server["host"] == host]
