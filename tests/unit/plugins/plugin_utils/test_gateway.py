"""The gateway's routes and settings checks, and HAProxy's runtime API as the gateway_runtime module uses it."""

import hashlib
import socket
import threading
from pathlib import Path

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import haproxy_runtime as rt
from ansible_collections.onprem.speech.plugins.plugin_utils import gateway, plan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "haproxy"
STT = {"name": "stt-en", "kind": "stt", "locale": "en-US", "host_port": 5000, "cpus": 0.25, "memory": "256m"}
TTS = {"name": "tts", "kind": "ntts", "voice": "en-US-AriaNeural", "host_port": 5001, "cpus": 0.25, "memory": "256m"}
LID = {"name": "lid", "kind": "lid", "host_port": 5002, "cpus": 0.25, "memory": "256m"}


def fleet(*hosts):
    return [{"host": name, "address": "10.0.0.%d" % (i + 1), "plan": plan.normalize_plan(items, allow_undersized=True)["plan"]}
            for i, (name, items) in enumerate(hosts)]


def test_one_route_per_service_with_every_hosts_container():
    found = gateway.routes(fleet(("h1", [STT, TTS, LID]), ("h2", [STT, TTS])), gateway_address="gw.example")
    assert found["problems"] == []
    by_key = dict((r["key"], r) for r in found["routes"])
    assert sorted(by_key) == ["lid", "ntts/en-US-AriaNeural", "stt/en-US"]
    stt = by_key["stt/en-US"]
    assert (stt["port"], stt["url"], stt["backend"]) == (5000, "wss://gw.example:5000", "speech_stt_en-US")
    assert [(s["host"], s["address"], s["port"]) for s in stt["servers"]] == [("h1", "10.0.0.1", 5000), ("h2", "10.0.0.2", 5000)]
    assert by_key["ntts/en-US-AriaNeural"]["url"] == "https://gw.example:5001"
    assert gateway.backend_servers(found["routes"], "h2") == [{"backend": "speech_ntts_en-US-AriaNeural", "server": "h2"},
                                                              {"backend": "speech_stt_en-US", "server": "h2"}]


def test_route_problems_name_their_variable():
    moved = dict(STT, host_port=5005)
    found = gateway.routes(fleet(("h1", [STT]), ("h2", [moved])), ports={"stt/fr-FR": 7000})
    words = " | ".join(found["problems"])
    assert "gateway_ports['stt/fr-FR']: no host of the fleet runs this service" in words
    assert "gateway_ports: stt/en-US runs on different ports on its hosts (h1:5000, h2:5005)" in words
    assert gateway.routes(fleet(("h1", [STT]), ("h2", [moved])), ports={"stt/en-US": 7000})["problems"] == []
    clash = gateway.routes(fleet(("h1", [STT, TTS])), ports={"ntts/en-US-AriaNeural": 5000})
    assert "port 5000 would serve both" in clash["problems"][0]
    empty = gateway.routes(fleet(("h1", [])))
    assert empty["problems"][0].startswith("gateway_fleet: the hosts it names run no speech container")
    own = gateway.routes(fleet(("gw", [STT])), gateway_host="gw", gateway_plan=fleet(("gw", [STT]))[0]["plan"])
    assert own["problems"][0].startswith("gateway_port_offset: the gateway on gw would listen on 5000")
    assert gateway.routes(fleet(("gw", [STT])), offset=10000, gateway_host="gw", gateway_plan=fleet(("gw", [STT]))[0]["plan"])["problems"] == []


def make_pair(tmp_path):
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import datetime

    def one():
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gw")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
        return (cert.public_bytes(serialization.Encoding.PEM).decode(),
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())
    return one(), one()


GOOD_KEYS = [{"name": "app", "key": "6f1c0d3e9a8b47f2b5c4d3e2f1a0b9c8"}]


def settings(**kw):
    base = {"client_keys": GOOD_KEYS, "tls_generate": True, "stats_port": 0, "drain_timeout": 60,
            "check_interval": 2, "check_timeout": 3, "tunnel_timeout": 660}
    base.update(kw)
    return base


def test_settings_are_checked_and_no_secret_is_quoted(tmp_path):
    (cert_a, key_a), (_cert_b, key_b) = make_pair(tmp_path)
    assert gateway.check_settings(settings()) == []
    assert gateway.check_settings(settings(tls_generate=False, tls_cert=cert_a, tls_key=key_a)) == []
    mismatch = gateway.check_settings(settings(tls_generate=False, tls_cert=cert_a, tls_key=key_b))
    assert mismatch == ["gateway_tls_cert, gateway_tls_key: the certificate is not the key's (its public key is another); "
                        "give the pair that belongs together"]
    assert gateway.check_settings(settings(client_keys=[]))[0].startswith("gateway_client_keys: empty")
    bad = gateway.check_settings(settings(client_keys=[{"name": "a", "key": "short"}, {"name": "a", "key": " padded-key-0000000000 "},
                                                       {"key": "6f1c0d3e9a8b47f2b5c4d3e2f1a0b9c8"}], tunnel_timeout=30))
    words = " | ".join(bad)
    assert "gateway_client_keys[0] (a).key: shorter than 16" in words
    assert "gateway_client_keys[1] (a).name: a is used twice" in words and "holds whitespace" in words
    assert "gateway_client_keys[2].name: missing" in words
    assert "gateway_tunnel_timeout: 30" in words
    assert "short" not in words.replace("shorter", "") and "padded-key" not in words
    assert "PRIVATE KEY" not in " ".join(mismatch)
    none = gateway.check_settings(settings(tls_generate=False))
    assert none[0].startswith("gateway_tls_cert, gateway_tls_key: give the gateway's certificate and key")


def test_keys_are_kept_as_hashes():
    assert gateway.key_hashes(GOOD_KEYS) == [hashlib.sha256(GOOD_KEYS[0]["key"].encode()).hexdigest()]


def test_show_stat_servers():
    rows = rt.server_rows((FIXTURES / "show-stat.csv").read_text())
    want = {"status": "UP", "sessions": 1, "total": 3, "check": "L7OK", "address": "172.30.0.51:5000"}
    assert rows[("speech_stt_en-US", "gw-speech-1")] == want
    assert rows[("speech_stt_en-US", "gw-speech-2")]["status"] == "MAINT"
    assert ("speech_stt_en-US", "BACKEND") not in rows


class FakeHAProxy(object):
    """A stats socket that answers `show stat` from a table and records `set server` commands."""

    def __init__(self, path, sessions):
        self.path, self.sessions, self.commands = str(path), sessions, []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(8)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _addr = self.server.accept()
            except OSError:
                return
            text = conn.recv(4096).decode().strip()
            self.commands.append(text)
            if text == "show stat":
                lines = ["# pxname,svname,scur,stot,status,check_status,addr"]
                for (backend, server), scur in sorted(self.sessions.items()):
                    lines.append("%s,%s,%d,10,%s,L7OK,1.2.3.4:5000" % (backend, server, scur, "UP"))
                conn.sendall(("\n".join(lines) + "\n").encode())
                for pair in self.sessions:  # each look, the sessions end one by one
                    self.sessions[pair] = max(0, self.sessions[pair] - 1)
            conn.close()


def test_drain_waits_for_sessions_then_maint_and_enable_waits_for_up(tmp_path):
    fake = FakeHAProxy(tmp_path / "admin.sock", {("b", "h1"): 2})
    waited, left = rt.drain(fake.path, [("b", "h1")], timeout=10, interval=0.01)
    assert left == 0
    assert fake.commands[0] == "set server b/h1 state drain" and fake.commands[-1] == "set server b/h1 state maint"
    assert fake.commands.count("show stat") == 3
    waited, down = rt.enable(fake.path, [("b", "h1")], timeout=5, interval=0.01)
    assert down == {} and "set server b/h1 state ready" in fake.commands


def test_drain_is_bounded(tmp_path):
    fake = FakeHAProxy(tmp_path / "admin.sock", {("b", "h1"): 1000})
    clock = iter(range(100)).__next__
    waited, left = rt.drain(fake.path, [("b", "h1")], timeout=3, interval=0, clock=clock, sleep=lambda s: None)
    assert left > 0 and fake.commands[-1] == "set server b/h1 state maint"


def test_a_missing_socket_is_named(tmp_path):
    with pytest.raises(rt.GatewayError) as error:
        rt.servers(str(tmp_path / "none.sock"))
    assert "level admin" in str(error.value)


def test_text_file_ends_each_part_with_a_real_newline():
    # Ansible 2.19 renders '\n' inside a {{ }} template as two characters; the role builds its files with this.
    cert, key = "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n\n", "  -----BEGIN EC PRIVATE KEY-----\nBB\n-----END EC PRIVATE KEY-----"
    text = gateway.text_file([cert, key])
    assert text == "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\nBB\n-----END EC PRIVATE KEY-----\n"
    assert "\\n" not in text
    assert gateway.text_file(["a", "", None, "b"]) == "a\nb\n"
    assert gateway.text_file([]) == ""


def test_a_subject_alt_name_of_an_ipv6_gateway_has_no_brackets():
    from ansible_collections.onprem.speech.plugins.filter.gateway import speech_san
    assert speech_san("[fd00::5]") == "IP:fd00::5"
    assert speech_san("fd00::5") == "IP:fd00::5"
    assert speech_san("10.0.0.5") == "IP:10.0.0.5"
    assert speech_san("gw.example.com") == "DNS:gw.example.com"
