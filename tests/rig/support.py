"""Support services for the scenarios that run speech containers.

    python3 tests/rig/support.py up       build what is missing, start what is not running
    python3 tests/rig/support.py status   what runs, and where support.json is
    python3 tests/rig/support.py down     remove the containers and the network (images, CA, keys stay)
    python3 tests/rig/support.py repush KIND TAG SOURCE_TAG VARIANT
                                          push new content under a test-only tag of registry A (prints its digest)

Everything runs on the machine's Docker engine, on the user-defined network
`speech-ci` (172.30.0.0/24), from images built FROM the rig's local Debian base:

    172.30.0.2   DNS (dnsmasq): mcr.microsoft.com and registry.speech.test -> registry A,
                 mirror.speech.test -> registry B, *.cognitiveservices.azure.com and
                 *.api.cognitive.microsoft.com -> billing; everything else is forwarded
    172.30.0.10  registry A: Debian's docker-registry, TLS on 443 for mcr.microsoft.com, anonymous pulls
    172.30.0.11  billing: the speech emulator in billing mode, HTTPS on 443, admin HTTP on 8080
    172.30.0.12  registry B: the same registry on mirror.speech.test:5443 with htpasswd auth

A test CA (in rig.SUPPORT_HOME: /var/lib/speech-ci for root, shared by every checkout
on the machine, as the services are) signs every server certificate; the emulator images
trust it in their system store, and test hosts trust it where the scenario says.
The emulator images are pushed under Microsoft's repository paths (from
plugins/module_utils/speech_kinds.py), so a host that resolves through the DNS
above and trusts the CA pulls mcr.microsoft.com/azure-cognitive-services/... as
from Microsoft. What scenarios need lands in <support home>/support.json (the
path is in SPEECH_CI_SUPPORT). Every step is idempotent: images are reused by
content hash, running containers by configuration hash, pushed tags by digest.
"""

import base64
import datetime
import fcntl
import importlib.util
import json
import os
import secrets
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rig  # noqa: E402  (the rig's paths, digests, base image and engine helpers)

ROOT = rig.ROOT
SUPPORT = rig.SUPPORT_HOME
TEMPLATES = Path(__file__).resolve().parent / "support"
EMULATOR = ROOT / "tests" / "emulator" / "speech_emulator"  # a package: python3 -m speech_emulator

SUPPORT_JSON = SUPPORT / "support.json"

NETWORK = "speech-ci"
SUBNET = "172.30.0.0/24"
GATEWAY = "172.30.0.1"
# Addresses Docker hands out itself: the upper half. The lower half is for fixed ones (support
# services .2-.19, demo hosts .21-.23, bench/fleet.py's hosts .24-.28, bench/gateway.py's .29,
# the fleet scenario .41-.43, the gateway scenario .51-.53), so a scenario running beside
# another never finds its fixed address taken.
IP_RANGE = "172.30.0.128/25"
DNS_IP = "172.30.0.2"
REGISTRY_A_IP = "172.30.0.10"
BILLING_IP = "172.30.0.11"
REGISTRY_B_IP = "172.30.0.12"
REGISTRY_A = "mcr.microsoft.com"
REGISTRY_A_ALIASES = ["registry.speech.test"]
REGISTRY_B_HOST = "mirror.speech.test"
REGISTRY_B_PORT = 5443
REGISTRY_B = "%s:%d" % (REGISTRY_B_HOST, REGISTRY_B_PORT)
BILLING_HOST = "speechdemo.cognitiveservices.azure.com"
BILLING_ENDPOINT = "https://%s/" % BILLING_HOST
BILLING_NAMES = ["cognitiveservices.azure.com", "api.cognitive.microsoft.com"]
BILLING_ADMIN_PORT = 8080
MIRROR_USER = "speechci"
CONTAINERS = {"dns": "speech-ci-dns", "registry_a": "speech-ci-registry-a", "registry_b": "speech-ci-registry-b", "billing": "speech-ci-billing"}
VOLUMES = {"registry_a": "speech-ci-registry-a", "registry_b": "speech-ci-registry-b"}
LABEL = "speech-ci.support"

# What each registry holds: (kind, tag, never ready?). Registry B, the private
# mirror, holds the current tags and a bad sync of the upgrade: images that
# never become ready, so a host pointed at the mirror proves rollback.
REGISTRY_A_TAGS = [
    ("stt", "5.1.0-amd64-en-us", False),
    ("stt", "5.2.0-amd64-en-us", False),
    ("stt", "5.1.0-amd64-de-de", False),
    ("custom_stt", "5.1.0-amd64", False),
    ("custom_stt", "5.2.0-amd64", False),
    ("lid", "1.18.0-amd64-preview", False),
    ("lid", "1.19.0-amd64-preview", False),
    ("ntts", "4.1.0-amd64-en-us-arianeural", False),
    ("ntts", "4.2.0-amd64-en-us-arianeural", False),
    ("diagnostic", "latest", False),
]
REGISTRY_B_TAGS = [
    ("stt", "5.1.0-amd64-en-us", False),
    ("stt", "5.1.0-amd64-de-de", False),
    ("custom_stt", "5.1.0-amd64", False),
    ("lid", "1.18.0-amd64-preview", False),
    ("ntts", "4.1.0-amd64-en-us-arianeural", False),
    ("diagnostic", "latest", False),
    ("stt", "5.2.0-amd64-en-us", True),
    ("custom_stt", "5.2.0-amd64", True),
    ("lid", "1.19.0-amd64-preview", True),
    ("ntts", "4.2.0-amd64-en-us-arianeural", True),
]


def emulator_sources():
    """The emulator package's source files (no __pycache__ or other leftovers), sorted."""
    return sorted(p for p in EMULATOR.glob("*.py") if p.is_file())


def log(msg):
    print("[support] " + msg, flush=True)


def docker(*args, check=True, input_bytes=None, env=None):
    """Run docker quietly; stdout as text. Raise rig.RigError with stderr when it fails and check is set."""
    proc = subprocess.run(["docker"] + [str(a) for a in args], input=input_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
    if check and proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace")[-2000:]
        raise rig.RigError("docker %s failed (exit %d): %s" % (" ".join(str(a) for a in args[:3]), proc.returncode, detail))
    return proc.stdout.decode(errors="replace").strip() if proc.returncode == 0 else None


def speech_kinds():
    spec = importlib.util.spec_from_file_location("speech_kinds", ROOT / "plugins" / "module_utils" / "speech_kinds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_if_changed(path, text, mode=0o644):
    path = Path(path)
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


# --------------------------------------------------------------------------
# Secrets kept across runs: API keys and the mirror password


def ensure_secrets():
    path = SUPPORT / "secrets.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for name in ("valid_key", "disconnected_key", "invalid_key", "mismatch_key", "expired_license_key"):
        if not data.get(name):
            data[name] = secrets.token_hex(16)  # 32 hex characters, like Azure's keys
            changed = True
    if not data.get("mirror_password"):
        data["mirror_password"] = secrets.token_hex(12)
        changed = True
    data["mirror_username"] = MIRROR_USER
    if changed or not path.exists():
        SUPPORT.mkdir(parents=True, exist_ok=True)
        write_if_changed(path, json.dumps(data, indent=1, sort_keys=True) + "\n", 0o600)
    return data


# --------------------------------------------------------------------------
# The test CA and server certificates


def openssl(*args, cwd):
    proc = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise rig.RigError("openssl %s failed: %s" % (args[0], proc.stderr.decode(errors="replace")[-1500:]))


def ensure_ca():
    ca = SUPPORT / "ca"
    ca.mkdir(parents=True, exist_ok=True)
    if (ca / "ca.crt").exists() and (ca / "ca.key").exists():
        return ca / "ca.crt"
    if not shutil.which("openssl"):
        rig.ensure_host_tools()
    log("creating the test CA in %s" % ca)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650", "-keyout", "ca.key", "-out", "ca.crt",
            "-subj", "/O=onprem.speech tests/CN=onprem.speech test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=ca)
    os.chmod(ca / "ca.key", 0o600)
    return ca / "ca.crt"


def ensure_cert(name, names, ips=("127.0.0.1",)):
    """A server certificate signed by the test CA, remade when its names or the CA change."""
    ca = SUPPORT / "ca"
    folder = SUPPORT / "certs"
    folder.mkdir(parents=True, exist_ok=True)
    san = ",".join(["DNS:" + n for n in names] + ["IP:" + ip for ip in ips])
    stamp = folder / (name + ".stamp")
    want = rig.digest(san, ca / "ca.crt")
    if stamp.exists() and stamp.read_text() == want and (folder / (name + ".crt")).exists():
        return folder / (name + ".crt"), folder / (name + ".key")
    log("issuing the %s certificate for %s" % (name, san))
    ext = folder / (name + ".ext")
    ext.write_text("subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" % san)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + names[0], cwd=folder)
    openssl("x509", "-req", "-sha256", "-days", "825", "-in", name + ".csr", "-CA", str(ca / "ca.crt"), "-CAkey", str(ca / "ca.key"),
            "-CAcreateserial", "-out", name + ".crt", "-extfile", name + ".ext", cwd=folder)
    os.chmod(folder / (name + ".key"), 0o644)  # read by the registry and billing processes in their containers
    (folder / (name + ".csr")).unlink()
    stamp.write_text(want)
    return folder / (name + ".crt"), folder / (name + ".key")


# --------------------------------------------------------------------------
# Images


def build(ref, context=None, dockerfile=None, build_args=None, dockerfile_text=None):
    if rig.image_exists(ref):
        return False
    log("building " + ref)
    cmd = ["build", "-q", "--pull=false", "-t", ref]
    for key, value in (build_args or {}).items():
        cmd += ["--build-arg", "%s=%s" % (key, value)]
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    if dockerfile_text is not None:
        docker(*(cmd + ["-"]), input_bytes=dockerfile_text.encode(), env=env)
    else:
        if dockerfile:
            cmd += ["-f", dockerfile]
        docker(*(cmd + [context]), env=env)
    return True


def canonical_locale(text):
    parts = text.split("-")
    return "-".join([parts[0].lower(), parts[1].upper()] + parts[2:])


def canonical_voice(text):
    """en-us-arianeural -> en-US-AriaNeural"""
    parts = text.split("-")
    name = parts[-1]
    if name.lower().endswith("neural"):
        name = name[: -len("neural")].capitalize() + "Neural"
    return "-".join([parts[0].lower(), parts[1].upper()] + parts[2:-1] + [name])


def identity(kinds, kind, tag):
    """The image ENV of one (kind, tag)."""
    env = {"EMULATOR_IMAGE_TAG": tag}
    if kind == "diagnostic":
        env["EMULATOR_IMAGE_VERSION"] = "1.0.0"
        return env
    parts = kinds.match_tag(kind, tag)
    if parts is None:
        raise rig.RigError("tag %s does not have the form speech_kinds.py gives for %s" % (tag, kind))
    env["EMULATOR_IMAGE_VERSION"] = parts["version"]
    if kind == "stt":
        env["EMULATOR_LOCALE"] = canonical_locale(parts["locale"])
    if kind == "ntts":
        env["EMULATOR_VOICE"] = canonical_voice(parts["voice"])
    return env


def repository(kinds, kind):
    return kinds.DIAGNOSTIC["repository"] if kind == "diagnostic" else kinds.KINDS[kind]["repository"]


def ensure_images(base, ca_cert, kinds):
    """Build the support and emulator images; return refs."""
    refs = {}
    refs["dns"] = "localhost/speech-ci/support-dns:" + rig.digest(base, TEMPLATES / "dns")
    build(refs["dns"], TEMPLATES / "dns", build_args={"BASE": base})
    refs["registry"] = "localhost/speech-ci/support-registry:" + rig.digest(base, TEMPLATES / "registry")
    build(refs["registry"], TEMPLATES / "registry", build_args={"BASE": base})
    emulator_dir = TEMPLATES / "emulator"
    sources = emulator_sources()
    refs["emulator_base"] = "localhost/speech-ci/emulator-base:" + rig.digest(
        base, emulator_dir / "Dockerfile", *[part for source in sources for part in (source.name, source)], ca_cert)
    if not rig.image_exists(refs["emulator_base"]):
        stage = SUPPORT / "build" / "emulator-base"
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        shutil.copy2(emulator_dir / "Dockerfile", stage / "Dockerfile")
        (stage / "speech_emulator").mkdir()
        for source in sources:
            shutil.copy2(source, stage / "speech_emulator" / source.name)
        shutil.copy2(ca_cert, stage / "speech-ci-test-ca.crt")
        build(refs["emulator_base"], stage, build_args={"BASE": base})
    refs["kinds"] = {}
    for kind in ("stt", "custom_stt", "lid", "ntts", "diagnostic"):
        ref = "localhost/speech-ci/emulator-%s:%s" % (kind.replace("_", "-"), rig.digest(refs["emulator_base"], emulator_dir / "Dockerfile.kind", kind))
        build(ref, emulator_dir, dockerfile=emulator_dir / "Dockerfile.kind", build_args={"EMULATOR_BASE": refs["emulator_base"], "KIND": kind})
        refs["kinds"][kind] = ref
    refs["tags"] = {}
    for kind, tag, never in sorted(set(REGISTRY_A_TAGS + REGISTRY_B_TAGS)):
        env = identity(kinds, kind, tag)
        # A short warm-up (the emulator's own default is 2 s): /ready still answers 503 "warming up" first, and every
        # readiness of every scenario waits less (the faults scenario alone proves readiness 38 times).
        env["EMULATOR_WARMUP_SECONDS"] = "never" if never else "0.5"
        port = 5003 if kind == "lid" else 5000
        lines = ["FROM " + refs["kinds"][kind], "ENV " + " ".join('%s="%s"' % item for item in sorted(env.items()))]
        if kind != "diagnostic":
            lines.append("EXPOSE %d" % port)
        lines.append('LABEL speech-ci.emulator="%s" speech-ci.emulator.tag="%s" speech-ci.emulator.never-ready="%s" '
                     'org.opencontainers.image.description="onprem.speech test emulator, not Microsoft software"' % (kind, tag, str(never).lower()))
        text = "\n".join(lines) + "\n"
        ref = "localhost/speech-ci/emulator-%s:%s%s-%s" % (kind.replace("_", "-"), tag, "-never" if never else "", rig.digest(text))
        build(ref, dockerfile_text=text)
        refs["tags"][(kind, tag, never)] = ref
    return refs


def prune_images(refs):
    """Remove emulator and support images of earlier content hashes (never one a container uses)."""
    keep = {refs["dns"], refs["registry"], refs["emulator_base"]} | set(refs["kinds"].values()) | set(refs["tags"].values())
    listing = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "localhost/speech-ci/*") or ""
    stale = [ref for ref in listing.split() if ref.split(":")[0].rsplit("/", 1)[-1].startswith(("emulator-", "support-")) and ref not in keep]
    removed = 0
    for ref in stale:
        if docker("rmi", ref, check=False) is not None:
            removed += 1
    if removed:
        log("removed %d image(s) of earlier builds" % removed)


# --------------------------------------------------------------------------
# Network and containers


def ensure_network():
    found = docker("network", "inspect", NETWORK, "--format", "{{json .IPAM.Config}}", check=False)
    if found is not None:
        ranges = [(c.get("Subnet"), c.get("IPRange")) for c in json.loads(found or "[]")]
        if (SUBNET, IP_RANGE) in ranges:
            return
        attached = docker("network", "inspect", NETWORK, "--format", "{{range .Containers}}{{.Name}} {{end}}").split()
        strangers = [name for name in attached if name not in CONTAINERS.values()]
        if strangers:
            raise rig.RigError("the Docker network %s has subnet/range %s, not %s/%s, and containers other than the support services "
                               "use it (%s): stop them and run support.py down" % (NETWORK, ranges, SUBNET, IP_RANGE, ", ".join(strangers)))
        log("the network %s has subnet/range %s: making it again with %s, range %s" % (NETWORK, ranges, SUBNET, IP_RANGE))
        for name in attached:
            docker("rm", "-f", name)
        docker("network", "rm", NETWORK)
    log("creating the network %s (%s, dynamic addresses from %s)" % (NETWORK, SUBNET, IP_RANGE))
    docker("network", "create", "--driver", "bridge", "--subnet", SUBNET, "--ip-range", IP_RANGE, "--gateway", GATEWAY,
           "--label", LABEL + "=1", NETWORK)


def container_state(name):
    found = docker("container", "inspect", name, "--format", '{{.State.Running}} {{index .Config.Labels "speech-ci.config"}}', check=False)
    if found is None:
        return None, None
    running, _sep, config = found.partition(" ")
    return running == "true", config


def ensure_container(name, image, ip, run_opts, args, files=(), extra=""):
    """Start a support container unless one with the same configuration already runs."""
    config = rig.digest(image, ip, json.dumps(run_opts), json.dumps(args), extra, *[Path(f) for f in files])
    running, current = container_state(name)
    if running and current == config:
        return False
    if running is not None:
        log("replacing the container %s (%s)" % (name, "configuration changed" if current != config else "not running"))
        docker("rm", "-f", name)
    else:
        log("starting the container %s at %s" % (name, ip))
    docker("run", "-d", "--name", name, "--hostname", name, "--network", NETWORK, "--ip", ip, "--restart", "unless-stopped",
           "--label", LABEL + "=1", "--label", "speech-ci.config=" + config, *run_opts, image, *args)
    return True


def published_port(name, port):
    text = docker("port", name, "%d/tcp" % port)
    for line in text.splitlines():
        host, _sep, number = line.strip().rpartition(":")
        if host in ("127.0.0.1", "0.0.0.0"):
            return int(number)
    raise rig.RigError("%s does not publish port %d on 127.0.0.1" % (name, port))


def wait_until(label, probe, timeout=60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except Exception as exc:  # noqa: BLE001  (any failure means: not yet)
            last = exc
        time.sleep(0.3)
    raise rig.RigError("%s did not come up within %d s (%s)" % (label, timeout, last))


def tls_context(ca_cert):
    return ssl.create_default_context(cafile=str(ca_cert))


def http(method, url, ca_cert=None, headers=None, body=None, timeout=10):
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=tls_context(ca_cert) if ca_cert else None))
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def dns_query(server, name, timeout=3):
    """The A records a DNS server gives for a name (a minimal stub resolver)."""
    query_id = int.from_bytes(os.urandom(2), "big")
    packet = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0)
    packet += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (server, 53))
        data = sock.recv(2048)
    _qid, _flags, qd, an, _ns, _ar = struct.unpack(">HHHHHH", data[:12])
    pos = 12
    for _question in range(qd):
        while data[pos] != 0:
            pos += data[pos] + 1
        pos += 5
    found = []
    for _answer in range(an):
        if data[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while data[pos] != 0:
                pos += data[pos] + 1
            pos += 1
        rtype, _cls, _ttl, length = struct.unpack(">HHIH", data[pos:pos + 10])
        pos += 10
        if rtype == 1 and length == 4:
            found.append(socket.inet_ntoa(data[pos:pos + 4]))
        pos += length
    return found


def ensure_htpasswd(registry_image, user, password):
    path = SUPPORT / "registry-b" / "htpasswd"
    stamp = SUPPORT / "registry-b" / "htpasswd.stamp"
    want = rig.digest(user, password)
    if path.exists() and stamp.exists() and stamp.read_text() == want:
        return path
    line = docker("run", "--rm", "--network", "none", "--entrypoint", "htpasswd", registry_image, "-Bbn", user, password)
    write_if_changed(path, line.strip() + "\n", 0o644)
    stamp.write_text(want)
    return path


def registry_tls(name):
    return ["-e", "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/%s.crt" % name, "-e", "REGISTRY_HTTP_TLS_KEY=/certs/%s.key" % name]


def ensure_billing_keys(keys):
    """The billing service's keys file: our keys, plus any a test added through the admin API."""
    path = SUPPORT / "billing" / "keys.json"
    current = json.loads(path.read_text()) if path.exists() else {"keys": {}}
    wanted = {
        keys["valid_key"]: {"name": "valid", "mode": "connected"},
        keys["disconnected_key"]: {"name": "disconnected", "mode": "disconnected"},
        keys["mismatch_key"]: {"name": "mismatch", "mode": "connected", "resource": "CognitiveServices"},
        keys["expired_license_key"]: {"name": "expired-license", "mode": "disconnected", "license_days": -1},
    }
    changed = False
    for key, entry in wanted.items():
        if current["keys"].get(key) != entry:
            current["keys"][key] = entry
            changed = True
    if changed:
        write_if_changed(path, json.dumps(current, indent=1, sort_keys=True) + "\n", 0o644)
    return path, json.dumps(wanted, sort_keys=True)


# --------------------------------------------------------------------------
# Pushing the emulator images under Microsoft's repository paths


def registry_digest(port, repo, tag, ca_cert, auth=None):
    headers = {"Accept": ", ".join(["application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json",
                                    "application/vnd.docker.distribution.manifest.list.v2+json"])}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
    code, resp_headers, _body = http("HEAD", "https://127.0.0.1:%d/v2/%s/manifests/%s" % (port, repo, tag), ca_cert, headers)
    if code != 200:
        return None
    return {k.lower(): v for k, v in resp_headers.items()}.get("docker-content-digest")


def push_all(registry_key, port, wanted, kinds, refs, ca_cert, docker_config=None, auth=None):
    """Push every (kind, tag, never) of one registry through its published localhost port; skip what is already there."""
    state_path = SUPPORT / ("pushed-%s.json" % registry_key)
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    extra = ["--config", str(docker_config)] if docker_config else []
    pushed = 0
    logged_in = False
    for kind, tag, never in wanted:
        repo = repository(kinds, kind)
        local = refs["tags"][(kind, tag, never)]
        image_id = docker("image", "inspect", local, "--format", "{{.Id}}")
        key = "%s:%s" % (repo, tag)
        record = state.get(key)
        if record and record.get("image_id") == image_id and registry_digest(port, repo, tag, ca_cert, auth) == record.get("digest"):
            continue
        target = "127.0.0.1:%d/%s:%s" % (port, repo, tag)
        if auth and not logged_in:
            # Credentials land in the support's own Docker config, never in the user's.
            docker(*(extra + ["login", "127.0.0.1:%d" % port, "-u", auth[0], "--password-stdin"]), input_bytes=auth[1].encode())
            logged_in = True
        log("pushing %s:%s to %s%s" % (repo, tag, registry_key, " (never ready)" if never else ""))
        docker("tag", local, target)
        try:
            output = docker(*(extra + ["push", target]))
        finally:
            docker("rmi", target, check=False)
        digest = None
        for line in output.splitlines():
            if "digest: sha256:" in line:
                digest = line.split("digest: ", 1)[1].split()[0]
        state[key] = {"image_id": image_id, "digest": digest, "local": local, "never_ready": never}
        write_if_changed(state_path, json.dumps(state, indent=1, sort_keys=True) + "\n")
        pushed += 1
    return pushed


# --------------------------------------------------------------------------
# The whole


def ensure_support(env=None):
    """Make the support services run; return support.json's content and set SPEECH_CI_SUPPORT in env.

    Two test runs on one machine may call this at once: a lock file serialises them."""
    env = env if env is not None else {}
    SUPPORT.mkdir(parents=True, exist_ok=True)
    with open(SUPPORT / ".lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _ensure_support(env)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _ensure_support(env):
    started = time.monotonic()
    base = env.get("SPEECH_CI_IMAGE_BASE") or rig.image_env()["SPEECH_CI_IMAGE_BASE"]
    if not rig.image_exists(base):
        base = rig.ensure_base_image()
    kinds = speech_kinds()
    SUPPORT.mkdir(parents=True, exist_ok=True)
    keys = ensure_secrets()
    ca_cert = ensure_ca()
    cert_a = ensure_cert("registry-a", [REGISTRY_A] + REGISTRY_A_ALIASES)
    cert_b = ensure_cert("registry-b", [REGISTRY_B_HOST])
    cert_billing = ensure_cert("billing", ["*." + n for n in BILLING_NAMES] + BILLING_NAMES)
    refs = ensure_images(base, ca_cert, kinds)
    prune_images(refs)
    ensure_network()

    # DNS
    upstream = "127.0.0.11"  # Docker's embedded DNS inside the dnsmasq container: the machine's resolvers, whatever they are
    records = [("/%s/" % REGISTRY_A, REGISTRY_A_IP)] + [("/%s/" % n, REGISTRY_A_IP) for n in REGISTRY_A_ALIASES]
    records += [("/%s/" % REGISTRY_B_HOST, REGISTRY_B_IP)] + [("/%s/" % n, BILLING_IP) for n in BILLING_NAMES]
    dns_args = ["--server=" + upstream, "--cache-size=500"] + ["--address=%s%s" % r for r in records]
    ensure_container(CONTAINERS["dns"], refs["dns"], DNS_IP, [], dns_args)

    # Registries
    certs_mount = ["-v", "%s:/certs:ro" % (SUPPORT / "certs")]
    ensure_container(CONTAINERS["registry_a"], refs["registry"], REGISTRY_A_IP,
                     certs_mount + registry_tls("registry-a") + [
                         "-e", "REGISTRY_HTTP_ADDR=0.0.0.0:443", "-p", "127.0.0.1::443",
                         "-v", "%s:/var/lib/docker-registry" % VOLUMES["registry_a"]],
                     [], files=[cert_a[0], cert_a[1]])
    htpasswd = ensure_htpasswd(refs["registry"], keys["mirror_username"], keys["mirror_password"])
    ensure_container(CONTAINERS["registry_b"], refs["registry"], REGISTRY_B_IP,
                     certs_mount + registry_tls("registry-b") + [
                         "-e", "REGISTRY_HTTP_ADDR=0.0.0.0:%d" % REGISTRY_B_PORT, "-p", "127.0.0.1::%d" % REGISTRY_B_PORT,
                         "-e", "REGISTRY_AUTH=htpasswd", "-e", "REGISTRY_AUTH_HTPASSWD_REALM=speech-ci mirror",
                         "-e", "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd", "-v", "%s:/auth:ro" % htpasswd.parent,
                         "-v", "%s:/var/lib/docker-registry" % VOLUMES["registry_b"]],
                     [], files=[cert_b[0], cert_b[1], htpasswd])

    # Billing
    keys_file, keys_config = ensure_billing_keys(keys)
    ensure_container(CONTAINERS["billing"], refs["emulator_base"], BILLING_IP,
                     ["--user", "0:0", "--entrypoint", "python3", "-v", "%s:/srv/billing" % keys_file.parent, "-v", "%s:/certs:ro" % (SUPPORT / "certs"),
                      "-p", "127.0.0.1::%d" % BILLING_ADMIN_PORT, "-p", "127.0.0.1::443"],
                     ["-m", "speech_emulator", "billing", "--keys", "/srv/billing/keys.json", "--state", "/srv/billing/state.json",
                      "--cert", "/certs/billing.crt", "--key", "/certs/billing.key", "--port", "443", "--admin-port", str(BILLING_ADMIN_PORT)],
                     files=[cert_billing[0], cert_billing[1]], extra=keys_config)
    port_a = published_port(CONTAINERS["registry_a"], 443)
    port_b = published_port(CONTAINERS["registry_b"], REGISTRY_B_PORT)
    admin_port = published_port(CONTAINERS["billing"], BILLING_ADMIN_PORT)
    billing_port = published_port(CONTAINERS["billing"], 443)
    admin_url = "http://127.0.0.1:%d" % admin_port
    auth = (keys["mirror_username"], keys["mirror_password"])
    wait_until("registry A", lambda: http("GET", "https://127.0.0.1:%d/v2/" % port_a, ca_cert)[0] == 200)
    wait_until("registry B", lambda: http("GET", "https://127.0.0.1:%d/v2/" % port_b, ca_cert)[0] == 401)
    wait_until("billing", lambda: http("GET", admin_url + "/admin/health")[0] == 200)
    wait_until("DNS", lambda: dns_query(DNS_IP, REGISTRY_A) == [REGISTRY_A_IP])
    check_dns()

    # Images under Microsoft's paths
    docker_config = SUPPORT / "docker-config"
    docker_config.mkdir(exist_ok=True)
    pushed = push_all("registry-a", port_a, REGISTRY_A_TAGS, kinds, refs, ca_cert)
    pushed += push_all("registry-b", port_b, REGISTRY_B_TAGS, kinds, refs, ca_cert, docker_config, auth)

    images = {
        REGISTRY_A: ["%s/%s:%s" % (REGISTRY_A, repository(kinds, k), t) for k, t, _n in REGISTRY_A_TAGS],
        REGISTRY_B: ["%s/%s:%s" % (REGISTRY_B, repository(kinds, k), t) for k, t, _n in REGISTRY_B_TAGS],
    }
    never_ready = ["%s/%s:%s" % (REGISTRY_B, repository(kinds, k), t) for k, t, n in REGISTRY_B_TAGS if n]
    data = {
        "network": NETWORK,
        "subnet": SUBNET,
        "dns_ip": DNS_IP,
        "ca_cert_path": str(ca_cert),
        "ca_cert_pem": ca_cert.read_text(),
        "registry_a": REGISTRY_A,
        "registry_a_aliases": REGISTRY_A_ALIASES,
        "registry_a_ip": REGISTRY_A_IP,
        "registry_b": REGISTRY_B,
        "registry_b_ip": REGISTRY_B_IP,
        "mirror_username": keys["mirror_username"],
        "mirror_password": keys["mirror_password"],
        "billing_endpoint": BILLING_ENDPOINT,
        "billing_ip": BILLING_IP,
        "billing_names": ["*." + n for n in BILLING_NAMES],
        "valid_key": keys["valid_key"],
        "disconnected_key": keys["disconnected_key"],
        "invalid_key": keys["invalid_key"],
        "mismatch_key": keys["mismatch_key"],
        "expired_license_key": keys["expired_license_key"],
        "billing_admin_url": admin_url,
        "billing_local_url": "https://127.0.0.1:%d/" % billing_port,
        "registry_a_local": "127.0.0.1:%d" % port_a,
        "registry_b_local": "127.0.0.1:%d" % port_b,
        "images": images,
        "never_ready_images": never_ready,
        "emulator_images": {"%s:%s%s" % (k, t, " (never ready)" if n else ""): ref for (k, t, n), ref in sorted(refs["tags"].items())},
        "emulator_base_image": refs["emulator_base"],
        "containers": CONTAINERS,
        "updated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    old = json.loads(SUPPORT_JSON.read_text()) if SUPPORT_JSON.exists() else {}
    old.pop("updated", None)
    if {k: v for k, v in data.items() if k != "updated"} != old:
        write_if_changed(SUPPORT_JSON, json.dumps(data, indent=1, sort_keys=True) + "\n", 0o600)
    env["SPEECH_CI_SUPPORT"] = str(SUPPORT_JSON)
    os.environ["SPEECH_CI_SUPPORT"] = str(SUPPORT_JSON)  # rig.py builds each part's environment from os.environ
    log("support services ready in %.1f s (%d image tag(s) pushed); %s" % (time.monotonic() - started, pushed, SUPPORT_JSON))
    return data


def check_dns():
    """The support DNS answers the test names and forwards the rest (a warning only: apt may still work)."""
    for name, want in ((REGISTRY_A, REGISTRY_A_IP), ("registry.speech.test", REGISTRY_A_IP), (REGISTRY_B_HOST, REGISTRY_B_IP),
                       (BILLING_HOST, BILLING_IP), ("westeurope.api.cognitive.microsoft.com", BILLING_IP)):
        got = dns_query(DNS_IP, name)
        if got != [want]:
            raise rig.RigError("the support DNS gives %s for %s, not %s" % (got, name, want))
    try:
        if not dns_query(DNS_IP, "deb.debian.org", timeout=5):
            log("warning: the support DNS does not resolve deb.debian.org (forwarding); apt inside test hosts may fail")
    except OSError as exc:
        log("warning: the support DNS does not forward (%s); apt inside test hosts may fail" % exc)


def down():
    for name in CONTAINERS.values():
        if docker("container", "inspect", name, "--format", "{{.Id}}", check=False) is not None:
            log("removing " + name)
            docker("rm", "-f", name)
    if docker("network", "inspect", NETWORK, "--format", "{{.Id}}", check=False) is not None:
        attached = docker("network", "inspect", NETWORK, "--format", "{{range .Containers}}{{.Name}} {{end}}").split()
        if attached:
            log("keeping the network %s: still attached: %s" % (NETWORK, ", ".join(attached)))
        else:
            log("removing the network " + NETWORK)
            docker("network", "rm", NETWORK)
    log("kept: images, registry volumes (%s), the CA and keys under %s" % (", ".join(VOLUMES.values()), SUPPORT))


def status():
    for label, name in CONTAINERS.items():
        running, _config = container_state(name)
        state = "absent" if running is None else "running" if running else "stopped"
        ports = docker("port", name, check=False) if running else ""
        print("%-11s %-22s %-8s %s" % (label, name, state, " ".join((ports or "").split())))
    net = docker("network", "inspect", NETWORK, "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", check=False)
    print("network     %-22s %s" % (NETWORK, net if net is not None else "absent"))
    print("support.json: %s%s" % (SUPPORT_JSON, "" if SUPPORT_JSON.exists() else " (absent)"))
    return 0 if all(container_state(n)[0] for n in CONTAINERS.values()) else 1


def repush(kind, tag, source_tag, variant):
    """Push new content under a tag of registry A, as a vendor re-pushing a tag would (for the image policy tests).

    The content is the emulator image of (kind, source_tag) with a label naming the variant, so each
    variant has its own digest. Use test-only tags (9.x): registry A is shared by every scenario.
    Prints the pushed digest."""
    data = json.loads(SUPPORT_JSON.read_text())
    source = data["emulator_images"]["%s:%s" % (kind, source_tag)]
    text = "FROM %s\nLABEL speech-ci.variant=\"%s\"\n" % (source, variant)
    local = "localhost/speech-ci/repush-%s:%s-%s" % (kind.replace("_", "-"), tag, rig.digest(text))
    build(local, dockerfile_text=text)
    target = "%s/%s:%s" % (data["registry_a_local"], repository(speech_kinds(), kind), tag)
    docker("tag", local, target)
    try:
        output = docker("push", target)
    finally:
        docker("rmi", target, check=False)
    for line in output.splitlines():
        if "digest: sha256:" in line:
            print(line.split("digest: ", 1)[1].split()[0])
            return 0
    raise rig.RigError("pushed %s but the push named no digest" % target)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 5 and argv[0] == "repush":
        try:
            return repush(*argv[1:])
        except rig.RigError as exc:
            log("failed: %s" % exc)
            return 1
    if len(argv) != 1 or argv[0] not in ("up", "down", "status"):
        print(__doc__.split("\n\n")[1])
        return 2
    try:
        if argv[0] == "up":
            rig.ensure_engine()
            rig.ensure_base_image()
            ensure_support(dict(os.environ, **rig.image_env()))
            return 0
        if argv[0] == "down":
            down()
            return 0
        return status()
    except rig.RigError as exc:
        log("failed: %s" % exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
