# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions over one host's container plan (controller side only: filters and lookups use it, no module ships it).

normalize_plan()   the operator's list -> full container specs, plus every problem found
check_billing()    the billing settings -> problems
check_host()       host facts (onprem.speech.host_facts) against the plan -> problems
plan_changes()     the plan against what speech_info found: what to create, replace, restart, remove, and why

Problems are plain sentences that start with the variable they are about and
say what is allowed. Nothing here reads files, talks to Docker or sees the
API key: the secrets reach the containers through the speech_container module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.onprem.speech.plugins.module_utils import speech_kinds as sk
from ansible_collections.onprem.speech.plugins.module_utils import text as textutil
from ansible_collections.onprem.speech.plugins.plugin_utils import inputs
from ansible_collections.onprem.speech.plugins.plugin_utils import docker_options
from ansible_collections.onprem.speech.plugins.module_utils.container_ops import license_marker
from ansible_collections.onprem.speech.plugins.module_utils.labels import (  # noqa: F401  (re-exported for the filters and tests)
    LABEL_BILLING, LABEL_HASH, LABEL_KIND, LABEL_MANAGED, LABEL_PREFIX, LABEL_SPEC, PREVIOUS_SUFFIX)

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
BILLING_IN = ("env", "args")
IMAGE_POLICIES = ("missing", "always")

STATES = ("started", "stopped", "absent")
# Docker's states in which a container is as good as gone: it can neither serve nor be started again.
GONE_STATES = ("dead", "removing")


def is_running(container):
    """Whether a container of speech_info's list runs and serves: Docker's State.Running is true for a paused and a
    restarting (crash-looping) one too; its state says."""
    if not container:
        return False
    state = container.get("state")
    return state == "running" if state else bool(container.get("running"))


def crash_words(container):
    """A crash loop in words: its restarts, last exit code and whether the kernel killed it for memory."""
    words = ["restarting"]
    if container.get("restart_count"):
        words.append("%s restarts" % container["restart_count"])
    if container.get("exit_code") not in (None, 0):
        words.append("last exit %s" % container["exit_code"])
    if container.get("oom_killed"):
        words.append("killed for memory (OOM)")
    return ", ".join(words)


# The billing settings, in any letter case: the role sets them, and nothing in a container's env or settings may.
BILLING_KEYS = ("eula", "billing", "apikey")
RESERVED_SETTINGS = ("eula", "billing", "apikey", "mounts:output", "mounts:license", "downloadlicense", "modelid")
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
MEMORY_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[bkmgt]?)b?$", re.IGNORECASE)
URL_RE = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?:[^@/\s]+@)?(?P<host>\[[0-9a-fA-F:.]+\]|[^:/\s?#]+)(?::(?P<port>\d+))?(?P<rest>[/?#]\S*)?$",
                    re.IGNORECASE)

MB_PER_UNIT = {"": 1.0 / (1024 * 1024), "b": 1.0 / (1024 * 1024), "k": 1.0 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0 * 1024}


def memory_to_mb(value):
    """Docker's memory forms ("8g", "512m", "1.5G", 1073741824) in MiB; None when malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value * MB_PER_UNIT["b"]) if value > 0 else None
    found = MEMORY_RE.match(str(value).strip())
    if not found:
        return None
    mb = float(found.group("num")) * MB_PER_UNIT[found.group("unit").lower()]
    return int(round(mb)) if mb > 0 else None


def mb_to_docker(mb):
    """MiB back to Docker's form: whole GiB as "8g", else "512m"."""
    return "%dg" % (mb // 1024) if mb % 1024 == 0 else "%dm" % mb


def parse_url(value):
    found = URL_RE.match(value or "")
    return found.groupdict() if found else None


def _voice_name(voice):
    """en-us-arianeural -> en-US-AriaNeural; an SSML voice name as given is kept."""
    parts = voice.split("-")
    if voice != voice.lower():
        return voice
    region = parts[1].upper()
    name = parts[-1]
    if name.endswith("neural"):
        name = name[:-6].capitalize() + "Neural"
    return "-".join([parts[0], region] + parts[2:-1] + [name])


def spec_hash(spec, billing_fingerprint=""):
    """Stable hash of what the container runs with; the billing fingerprint makes a key rotation count."""
    blob = json.dumps({"spec": spec, "billing": billing_fingerprint}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def billing_fingerprint(endpoint, api_key):
    """A one-way fingerprint of the billing pair, safe to keep in a label (the key is 128+ random bits)."""
    return hashlib.sha256(("%s\n%s" % (endpoint or "", api_key or "")).encode("utf-8")).hexdigest()[:16]


def _image_parts(item, row, kind, where, problems):
    """version, locale, voice and tag of one entry; problems for malformed ones."""
    version = item.get("version")
    locale = item.get("locale")
    voice = item.get("voice")
    tag = item.get("tag")
    if version is not None and not re.match(r"^" + sk.VERSION_PATTERN + r"$", version):
        problems.append("%s.version: %r is not a version of the form MAJOR.MINOR.PATCH (e.g. %s)" % (where, version, row["default_version"]))
        version = None
    if locale is not None and not re.match(r"^" + sk.LOCALE_PATTERN + r"$", locale, re.IGNORECASE):
        problems.append("%s.locale: %r is not a locale like en-US, de-DE or zh-CN-sichuan" % (where, locale))
        locale = None
    if voice is not None and not re.match(r"^" + sk.VOICE_PATTERN + r"$", voice, re.IGNORECASE):
        problems.append("%s.voice: %r is not a neural voice name like en-US-AriaNeural" % (where, voice))
        voice = None
    if locale is not None and "locale" not in row["takes"]:
        problems.append("%s.locale: %s images carry no locale; %s" % (where, kind,
                        "set voice instead (e.g. %s)" % row["default_voice"] if "voice" in row["takes"] else "remove it"))
    if voice is not None and "voice" not in row["takes"]:
        problems.append("%s.voice: only %s containers take a voice" % (where, " and ".join(sk.kinds_taking("voice"))))
    if tag is not None:
        parts = sk.match_tag(kind, tag)
        if parts is None:
            problems.append("%s.tag: %r is not a %s tag; the form is %s (or latest)" % (where, tag, kind, row["tag_form"].replace("{", "<").replace("}", ">")))
            return None
        if version is not None and parts.get("version") not in (version, "latest"):
            problems.append("%s.tag: %r does not match version %s; set one of them" % (where, tag, version))
        version = parts.get("version")
        if parts.get("locale"):
            locale = locale or parts["locale"]
        if parts.get("voice"):
            voice = voice or _voice_name(parts["voice"])
        if version == "latest":
            latest = sk.LATEST.get(kind, {})
            locale = locale or latest.get("locale")
            voice = voice or latest.get("voice")
    else:
        version = version or row["default_version"]
        if row["selector"] == "locale":
            locale = locale or row["default_locale"]
        if row["selector"] == "voice":
            voice = voice or row["default_voice"]
        tag = sk.build_tag(kind, version, locale=locale, voice=voice)
    return {"version": version, "locale": locale, "voice": _voice_name(voice) if voice else None, "tag": tag}


def normalize_plan(containers, registry=sk.REGISTRY, data_dir="/var/lib/onprem-speech", state="started",
                   billing_fp="", allow_undersized=False, varname="speech_containers_list", force_state=None,
                   billing_in="env", image_policy="missing", secret_fps=None):
    """Validate the operator's list and expand it to full specs.

    Returns {"plan": [spec, ...], "problems": [...], "warnings": [...]}.
    A spec holds everything the container runs with except the secrets."""
    problems, warnings, plan = [], [], []
    # Types, choices and unknown options: Ansible's validator against the list's own argument spec.
    entries, problems = inputs.validate_entries(containers, varname)
    if state not in STATES:
        problems.append("speech_containers_state: %r is not one of %s" % (state, ", ".join(STATES)))
    if force_state and force_state not in STATES:
        problems.append("speech_containers_force_state: %r is not one of %s (or empty)" % (force_state, ", ".join(STATES)))
    if billing_in not in BILLING_IN:
        problems.append("speech_containers_billing_in: %r; allowed: %s" % (billing_in, ", ".join(BILLING_IN)))
    if image_policy not in IMAGE_POLICIES:
        problems.append("speech_containers_image_policy: %r; allowed: %s (pin an image with the digest of its list entry)"
                        % (image_policy, ", ".join(IMAGE_POLICIES)))
    secret_fps = secret_fps or {}
    registry = (registry or sk.REGISTRY).rstrip("/")
    names, ports = {}, {}
    for index, item in enumerate(entries):
        if item is None:
            continue
        where = "%s[%d]" % (varname, index)
        raw = containers[index]
        bad = set(k for k in raw if k not in item)
        name = item.get("name") if isinstance(item.get("name"), str) else None
        if name:
            where = "%s[%d] (%s)" % (varname, index, name)
        if "name" in bad or not name:
            pass
        elif not NAME_RE.match(name):
            problems.append("%s.name: %r is not allowed; a container name is letters, digits, '_', '.', '-' and starts with a letter or digit"
                            % (where, name))
        elif name in names:
            problems.append("%s.name: %r is used twice on this host (also %s[%d])" % (where, name, varname, names[name]))
        else:
            names[name] = index
        kind = item.get("kind")
        if kind not in sk.KINDS:
            continue  # missing or not a kind: the validator said so
        row = sk.KINDS[kind]
        c_state = force_state or item.get("state") or state
        if c_state not in STATES:
            problems.append("%s.state: %r is not one of %s" % (where, c_state, ", ".join(STATES)))
        port = item.get("host_port")
        if port is None:
            pass  # missing or not a number: the validator said so
        elif not 1 <= port <= 65535:
            problems.append("%s.host_port: %s is out of range; allowed 1-65535" % (where, port))
        elif port in ports and c_state != "absent":
            problems.append("%s.host_port: %d is used twice on this host (also %s[%d])" % (where, port, varname, ports[port]))
        elif c_state != "absent":
            ports[port] = index
        host_ip = item.get("host_ip") or "0.0.0.0"
        image = _image_parts(item, row, kind, where, problems)
        disconnected = bool(item.get("disconnected"))
        if disconnected and not row["disconnected"]:
            problems.append("%s.disconnected: %s containers cannot run disconnected; only %s can" % (
                where, kind, ", ".join(k for k, r in sk.KINDS.items() if r["disconnected"])))
        model_id = item.get("model_id")
        if row["selector"] == "model_id" and not model_id:
            problems.append("%s.model_id: missing; a %s container needs the id of its custom or base model" % (where, kind))
        if model_id and "model_id" not in row["takes"]:
            problems.append("%s.model_id: only %s containers take a model id" % (where, " and ".join(sk.kinds_taking("model_id"))))
        if item.get("models_dir") and not row["models_mount"]:
            problems.append("%s.models_dir: only %s containers mount /usr/local/models (an empty volume there breaks the other images)"
                            % (where, " and ".join(sk.kinds_by("models_mount", True))))
        dmc = item.get("decoder_max_count")
        if dmc is not None and (dmc < 1 or "decoder_max_count" not in row["takes"]):
            problems.append("%s.decoder_max_count: %s; allowed: a whole number of 1 or more, for %s only"
                            % (where, dmc, " and ".join(sk.kinds_taking("decoder_max_count"))))
        level = item.get("log_level")
        proxy = item.get("http_proxy")
        if proxy and (not parse_url(proxy) or parse_url(proxy)["scheme"].lower() not in ("http", "https")):
            problems.append("%s.http_proxy: %r is not an http:// or https:// proxy URL" % (where, redact_userinfo(proxy)))
        elif proxy and "@" in proxy.split("://", 1)[-1].split("/", 1)[0]:
            problems.append("%s.http_proxy: %s carries credentials; give the URL without them and put HTTP_PROXY_CREDS (user:password) "
                            "in speech_containers_secret_env[%s] (a vault), which stays out of labels and output" % (where, redact_userinfo(proxy), name))
            proxy = None
        digest = item.get("digest")
        if digest is not None and not DIGEST_RE.match(digest):
            problems.append("%s.digest: %r is not an image digest like sha256:<64 hex digits>" % (where, digest))
            digest = None
        for key in item.get("settings") or {}:
            if str(key).lower() in RESERVED_SETTINGS:
                problems.append("%s.settings: %s is set by the role from its own options; remove it" % (where, key))
        for key in item.get("env") or {} if isinstance(item.get("env"), dict) else {}:
            if str(key).lower() in BILLING_KEYS:
                problems.append("%s.env: %s would override a billing setting the role sets in the container's environment (from "
                                "speech_containers_eula, speech_containers_billing_endpoint, speech_containers_api_key); remove it" % (where, key))
        no_proxy = [str(h) for h in (item.get("no_proxy") or [])]
        docker_opts = {}
        if item.get("docker_options"):
            docker_opts, found = docker_options.check(item["docker_options"], where)
            problems.extend(found)

        base = "%s/%s" % (data_dir.rstrip("/"), name)
        output_dir = item.get("output_dir") or (base + "/output" if disconnected else None)
        if item.get("disk_logging") and not output_dir:
            problems.append("%s.disk_logging: JSON disk logs need output_dir (Logging:Disk:Format=json writes to the output mount)" % where)
        license_dir = item.get("license_dir") or (base + "/license" if disconnected else None)
        models_dir = item.get("models_dir") or (base + "/models" if row["models_mount"] else None)

        recommended_mb = sk.gb_to_mb(row["recommended_memory_gb"])
        cpus = item.get("cpus")
        cpus = float(row["recommended_cpus"]) if cpus is None else float(cpus)
        if cpus <= 0:
            problems.append("%s.cpus: %s; allowed: a number above 0 (Docker's --cpus)" % (where, cpus))
        memory = item.get("memory")
        memory_mb = recommended_mb if memory is None else memory_to_mb(memory)
        if memory_mb is None:
            problems.append("%s.memory: %r is not a Docker memory size like 8g or 512m" % (where, memory))
            memory_mb = recommended_mb
        model_memory = item.get("model_memory")
        model_mb = sk.gb_to_mb(row["model_memory_gb"][0]) if model_memory is None else memory_to_mb(model_memory)
        if model_mb is None and model_memory not in (0, "0"):
            problems.append("%s.model_memory: %r is not a memory size like 4g" % (where, model_memory))
        model_mb = model_mb or 0
        low = [(what, have, need, unit) for what, have, need, unit in (("cpus", cpus, row["min_cpus"], " cores"),
                                                                       ("memory", memory_mb, sk.gb_to_mb(row["min_memory_gb"]), " MiB")) if have < need]
        if low and allow_undersized:
            warnings.append("%s: %s below Microsoft's minimum for %s (%s); allowed by speech_containers_allow_undersized" % (
                where, " and ".join("%s%s" % (_num(have), unit) for _w, have, _n, unit in low), row["title"],
                ", ".join("%s%s" % (_num(need), unit) for _w, _h, need, unit in low)))
        for what, have, need, unit in ([] if allow_undersized else low):
            problems.append("%s.%s: %s%s is below Microsoft's minimum of %s%s for %s; raise it, or set speech_containers_allow_undersized: true "
                            "for a test host" % (where, what, _num(have), unit, _num(need), unit, row["title"]))

        env = {}
        if dmc is not None:
            env["DECODER_MAX_COUNT"] = str(dmc)
        if proxy:
            env["HTTP_PROXY"] = proxy
            env["HTTPS_PROXY"] = proxy
            env["NO_PROXY"] = ",".join(["localhost", "127.0.0.1"] + [h for h in no_proxy if h not in ("localhost", "127.0.0.1")])
        for key, value in (item.get("env") or {}).items():
            env[str(key)] = str(value)

        args, mounts, dirs = [], [], []
        if level:
            args.append("Logging:Console:LogLevel:Default=%s" % level)
        if output_dir:
            args.append("Mounts:Output=%s" % sk.CONTAINER_PATHS["output"])
            mounts.append({"type": "bind", "source": output_dir, "target": sk.CONTAINER_PATHS["output"]})
            dirs.append({"path": output_dir, "purpose": "output", "keep": True})
        if item.get("disk_logging"):
            args.append("Logging:Disk:Format=json")
        if disconnected:
            args.append("Mounts:License=%s" % sk.CONTAINER_PATHS["license"])
            mounts.append({"type": "bind", "source": license_dir, "target": sk.CONTAINER_PATHS["license"]})
            dirs.append({"path": license_dir, "purpose": "license", "keep": True})
        if models_dir:
            mounts.append({"type": "bind", "source": models_dir, "target": sk.CONTAINER_PATHS["models"]})
            dirs.append({"path": models_dir, "purpose": "models", "keep": True})
        if model_id:
            args.append("ModelId=%s" % model_id)
        if proxy:
            args.append("HTTP_PROXY=%s" % proxy)
        for key in sorted(item.get("settings") or {}):
            args.append("%s=%s" % (key, item["settings"][key]))

        if image is None or port is None or not name:
            continue
        tagged = "%s/%s:%s" % (registry, row["repository"], image["tag"])
        spec = {
            "name": name,
            "kind": kind,
            "title": row["title"],
            "state": c_state,
            "registry": registry,
            "repository": row["repository"],
            "tag": image["tag"],
            # Pinned by digest: exactly that content, whatever the tag points to now.
            "image": "%s/%s@%s" % (registry, row["repository"], digest) if digest else tagged,
            "tagged_image": tagged,
            "digest": digest,
            "billing_in": billing_in,
            "version": image["version"],
            "locale": image["locale"],
            "voice": image["voice"],
            "protocol": row["protocol"],
            "container_port": row["container_port"],
            "host_port": port,
            "host_ip": host_ip,
            "published_port": "%s:%d:%d" % (host_ip, port, row["container_port"]),
            "cpus": cpus,
            "memory": mb_to_docker(memory_mb),
            "memory_mb": memory_mb,
            "model_memory_mb": model_mb,
            "disconnected": disconnected,
            "model_id": model_id,
            "args": args,
            "env": env,
            "mounts": mounts,
            "dirs": dirs,
        }
        if docker_opts:
            # Only when given: a plan without them hashes as it did before they existed (no replace on upgrade).
            spec["docker_options"] = docker_opts
        # The state is not part of what the container is: stopping one must not recreate it.
        applied = dict((k, v) for k, v in spec.items() if k != "state")
        # Secrets count through one-way fingerprints only: a rotated key or secret value recreates the container.
        fingerprints = "" if disconnected else billing_fp
        if secret_fps.get(name):
            fingerprints += "/" + secret_fps[name]
        spec["spec_hash"] = spec_hash(applied, fingerprints)
        spec["policy"] = "pinned" if digest else image_policy
        spec["labels"] = {LABEL_MANAGED: "true", LABEL_KIND: kind, LABEL_HASH: spec["spec_hash"],
                          LABEL_SPEC: json.dumps(applied, sort_keys=True, separators=(",", ":"))}
        if not disconnected:
            spec["labels"][LABEL_BILLING] = billing_fp
        plan.append(spec)
    return {"plan": plan, "problems": problems, "warnings": warnings}


def redact_userinfo(url):
    """A URL with any user:password@ replaced by <credentials>@, for messages."""
    scheme, sep, rest = (url or "").partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = "<credentials>@" + host.rsplit("@", 1)[1]
    return scheme + sep + host + slash + path


def _num(value):
    return ("%.2f" % value).rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def check_billing(plan, eula, endpoint, api_key_present, names=None):
    """Problems with the billing settings. Only containers that run connected need them."""
    names = names or {}
    eula_var = names.get("eula", "speech_containers_eula")
    endpoint_var = names.get("endpoint", "speech_containers_billing_endpoint")
    key_var = names.get("api_key", "speech_containers_api_key")
    problems = []
    if any(spec["state"] != "absent" for spec in plan) and eula != "accept":
        problems.append("%s: %r; it must be exactly \"accept\" (Microsoft's licence terms; the containers do not start otherwise)" % (eula_var, eula or ""))
    connected = [spec["name"] for spec in plan if spec["state"] != "absent" and not spec["disconnected"]]
    if not connected and not endpoint and not api_key_present:
        return problems
    url = parse_url(endpoint or "")
    if not endpoint:
        problems.append("%s: missing; give the Speech resource's endpoint from the Azure portal (https://<resource>.cognitiveservices.azure.com/), needed by %s"
                        % (endpoint_var, ", ".join(connected) or "the licence download"))
    elif not url or url["scheme"].lower() != "https":
        problems.append("%s: %r is not an https:// URL; copy the endpoint from the Speech resource's Overview page" % (endpoint_var, endpoint))
    if not api_key_present:
        problems.append("%s: missing; give the Speech resource's key (from a vault), needed by %s" % (key_var, ", ".join(connected) or "the licence download"))
    return problems


def guard_warnings(journal):
    """What the host's guard did since the last run that changed the host (its journal's entries after that run's)."""
    entries = [e for e in journal or [] if isinstance(e, dict)]
    last_run = max([i for i, e in enumerate(entries) if e.get("by") == "run"] or [-1])
    warnings = []
    for entry in entries[last_run + 1:]:
        if entry.get("by") != "guard":
            continue
        actions = ", ".join("%s %s" % (a.get("name"), a.get("action")) for a in entry.get("actions") or [] if isinstance(a, dict))
        warnings.append("the host's guard %s %s at %s: %s (run %s)%s" % (
            entry.get("result") or "acted on", ", ".join(entry.get("containers") or []), entry.get("at") or "?", entry.get("why") or "",
            entry.get("run") or "?", "; " + actions if actions else ""))
    return warnings


def check_host(facts, plan, min_core_mhz=sk.MIN_CORE_MHZ, strict_clock=False, min_free_mb=0, names=None):
    """Problems and warnings of one host against its plan, with the numbers compared."""
    names = names or {}
    problems, warnings = [], []
    facts = facts or {}
    arch = facts.get("architecture")
    if arch != "x86_64":
        problems.append("architecture: %s; the speech containers are Linux x86_64 (amd64) only" % (arch or "unknown"))
    if not facts.get("avx2"):
        problems.append("AVX2: the CPU flags seen inside this host (%s) lack avx2; the containers require AVX2. "
                        "On a VM, expose the host CPU (e.g. KVM cpu mode host-passthrough instead of kvm64)" % (facts.get("cpu_model") or "unknown CPU"))
    mhz = facts.get("core_max_mhz")
    clock_var = names.get("min_core_mhz", "preflight_min_core_mhz")
    if mhz is None:
        msg = "clock: this host does not tell its per-core clock (no cpufreq, no MHz in /proc/cpuinfo); Microsoft requires %d MHz or more" % min_core_mhz
        (problems if strict_clock else warnings).append(msg + (" (failing because preflight_strict_clock is on)" if strict_clock else ""))
    elif round(mhz / 100.0) * 100 < min_core_mhz:
        # Compared at the precision the requirement is stated in (0.1 GHz): a 2.6 GHz part in a VM
        # calibrates its TSC to e.g. 2596 MHz, and that meets "2.6 GHz".
        problems.append("clock: %s MHz per core (from %s) is below %d MHz (%s)"
                        % (_num(float(mhz)), facts.get("core_max_mhz_source") or "?", min_core_mhz, clock_var))
    if facts.get("ip_forward") is False:
        problems.append("net.ipv4.ip_forward: 0; Docker's published ports and outbound billing calls need it on (sysctl net.ipv4.ip_forward=1; "
                        "a hardening baseline may have turned it off)")
    warnings.extend(guard_warnings(((facts.get("speech") or {}).get("host_state") or {}).get("journal")))
    docker = facts.get("docker") or {}
    free = docker.get("data_root_free_mb")
    if min_free_mb and free is not None and free < min_free_mb:
        problems.append("disk: %d MiB free on %s (Docker's data root), below %d MiB (preflight_min_free_gb); speech images are large"
                        % (free, docker.get("data_root") or "/var/lib/docker", min_free_mb))
    active = [spec for spec in plan if spec["state"] != "absent"]
    planned_names = set(spec["name"] for spec in plan)
    listening = set(facts.get("listening_ports") or [])
    holders = {}
    for entry in docker.get("published_ports") or []:
        holders.setdefault(entry["port"], []).append(entry)
    for spec in active:
        port = spec["host_port"]
        if port not in listening and port not in holders:
            continue
        owners = holders.get(port, [])
        ours = [o for o in owners if o.get("managed") and (o["container"] == spec["name"] or o["container"] not in planned_names)]
        if owners and len(ours) == len(owners):
            continue
        others = ", ".join("container %s%s" % (o["container"], "" if o.get("managed") else " (not managed by onprem.speech)") for o in owners if o not in ours)
        problems.append("%s (%s).host_port: %d is already in use on this host%s; pick a free port"
                        % (names.get("containers", "speech_containers_list"), spec["name"], port,
                           " by " + others if others else " by a process outside Docker"))
    need_cpus = sum(spec["cpus"] for spec in active)
    need_mb = sum(spec["memory_mb"] + spec["model_memory_mb"] for spec in active)
    have_cpus = facts.get("usable_cpus") or facts.get("logical_cpus") or 0
    have_mb = facts.get("usable_memory_mb") or facts.get("memory_total_mb") or 0
    if need_cpus > have_cpus:
        problems.append("cpus: the containers planned here need %s cores (%s) but the host has %s"
                        % (_num(float(need_cpus)), " + ".join("%s %s" % (s["name"], _num(s["cpus"])) for s in active), _num(float(have_cpus))))
    if need_mb > have_mb:
        problems.append("memory: the containers planned here need %d MiB (%s; model memory is Microsoft's +4 to 8 GB for speech to text) "
                        "but the host has %d MiB"
                        % (need_mb, " + ".join("%s %d%s" % (s["name"], s["memory_mb"], "+%d model" % s["model_memory_mb"] if s["model_memory_mb"] else "")
                                               for s in active), have_mb))
    summary = {"need_cpus": need_cpus, "have_cpus": have_cpus, "need_memory_mb": need_mb, "have_memory_mb": have_mb}
    return {"problems": problems, "warnings": warnings, "summary": summary}


def _where(spec, entries_name):
    return "%s (%s)" % (entries_name, spec["name"])


def managed_mounts(containers):
    """The host directories the collection's own containers mount (from their spec labels): the collection made them."""
    found = set()
    for container in containers or []:
        for mount in ((container or {}).get("spec") or {}).get("mounts") or []:
            if isinstance(mount, dict) and mount.get("source"):
                found.add(mount["source"])
    return found


def dir_refusal(spec, directory, stat, image_uid=None, adopt=False, varname="speech_containers_list", ours=()):
    """Why the role must not take this existing directory for a container, or None.

    A directory the role made belongs to the image's (non-root) user. An existing one owned by root,
    or shared (sticky, or writable by everyone), is somebody else's: taking it would hand it to the
    container's user and drop its mode. Only with speech_containers_adopt_dirs. One a managed container
    already mounts (ours) is the collection's, whatever its owner now: its owner is repaired."""
    stat = stat or {}
    if not stat.get("exists") or directory["path"] in ours:
        return None
    where = "%s.%s_dir" % (_where(spec, varname), directory["purpose"])
    if not stat.get("isdir"):
        return "%s: %s exists and is not a directory" % (where, directory["path"])
    if adopt or (image_uid is not None and stat.get("uid") == image_uid):
        return None
    mode = int(stat.get("mode") or "0", 8)
    shared = mode & 0o1000 or mode & 0o002
    if stat.get("uid") == 0 or shared or image_uid is not None:
        return ("%s: %s already exists (owner %s:%s, mode %s) and onprem.speech did not make it; the role would give it to the "
                "container's user%s. Give a directory of the container's own, or set speech_containers_adopt_dirs: true to hand "
                "this one over" % (where, directory["path"], stat.get("uid"), stat.get("gid"), stat.get("mode"),
                                   " and drop its sticky bit" if mode & 0o1000 else ""))
    return None


def check_placement(facts, plan, varname="speech_containers_list", list_given=True, remove_unlisted=None, billing_endpoint="",
                    adopt_dirs=False):
    """Problems and warnings only the host can tell, before any change: addresses, ports held by stopped containers,
    directories that are not the collection's, the billing endpoint's name, and a list that is not given."""
    problems, warnings = [], []
    facts = facts or {}
    docker = facts.get("docker") or {}
    active = [spec for spec in plan if spec["state"] != "absent"]
    planned = set(spec["name"] for spec in plan)
    addresses = facts.get("addresses")
    ours = managed_mounts((facts.get("speech") or {}).get("containers"))
    for spec in active:
        host_ip = spec.get("host_ip") or "0.0.0.0"
        if addresses and host_ip not in ("0.0.0.0", "::") and is_ip(host_ip) and host_ip.strip("[]") not in addresses:
            problems.append("%s.host_ip: %s is not an address of this host (it has %s); Docker cannot publish on it"
                            % (_where(spec, varname), host_ip, ", ".join(a for a in addresses if not a.startswith("fe80")) or "none"))
        for held in docker.get("stopped_ports") or []:
            if held["port"] != spec["host_port"]:
                continue
            if held.get("managed") and (held["container"] in (spec["name"], spec["name"] + PREVIOUS_SUFFIX) or held["container"] not in planned):
                continue
            problems.append("%s.host_port: %d is held by the stopped container %s (restart policy %s%s): it takes the port when it starts; "
                            "pick a free port or remove that container"
                            % (_where(spec, varname), spec["host_port"], held["container"], held.get("restart_policy") or "no",
                               "" if held.get("managed") else "; not managed by onprem.speech"))
        for directory in spec["dirs"]:
            refusal = dir_refusal(spec, directory, (facts.get("paths") or {}).get(directory["path"]), adopt=adopt_dirs, varname=varname,
                                  ours=ours)
            if refusal:
                problems.append(refusal)
    connected = [spec for spec in active if not spec["disconnected"]]
    url = parse_url(billing_endpoint or "")
    if connected and url:
        answer = (facts.get("resolved") or {}).get(url["host"].strip("[]"))
        proxied = any((spec.get("env") or {}).get("HTTP_PROXY") for spec in connected)
        if answer and answer.get("error") and not is_ip(url["host"]):
            text = ("speech_containers_billing_endpoint: %s does not resolve from this host (%s): a typo in the endpoint, or DNS; "
                    "the containers could not reach billing" % (url["host"], answer["error"]))
            (warnings if proxied else problems).append(text + (" (a proxy is set, which may resolve it)" if proxied else ""))
    managed = [name for name in docker.get("managed_containers") or [] if not name.endswith(PREVIOUS_SUFFIX)]
    if not list_given:
        if managed and remove_unlisted is None:
            problems.append("%s: not set for this host (a misspelt variable, or a host outside the group that sets it?), and the run would "
                            "remove every container it manages here: %s. Set %s: [] to remove them, or speech_containers_remove_unlisted: "
                            "false to keep them" % (varname, ", ".join(sorted(managed)), varname))
        elif not managed:
            warnings.append("%s: not set for this host: no speech container will run here (Docker and GStreamer only); set it to [] to "
                            "say so" % varname)
    return {"problems": problems, "warnings": warnings}


def client_url(spec, host):
    """How a Speech SDK client reaches the container: ws:// for stt/custom_stt, http:// for lid/ntts (module_utils/text.py)."""
    return textutil.client_url(spec["protocol"], host, spec["host_port"])


def registry_host(registry):
    """mirror.example:5443/prefix -> mirror.example:5443 (where Docker looks for the CA and the login)."""
    return (registry or sk.REGISTRY).split("/", 1)[0]


def check_settings(settings):
    """Problems with the role's own settings (not the container list), each naming its variable."""
    problems = []
    source = settings.get("image_source")
    if source == "load" and not settings.get("image_archive"):
        problems.append("speech_containers_image_archive: missing; speech_containers_image_source load needs the path, on the controller, "
                        "of an archive made with `docker save` holding the planned images")
    if bool(settings.get("registry_username")) != bool(settings.get("registry_password_present")):
        problems.append("speech_containers_registry_username and speech_containers_registry_password: give both or neither")
    ca = settings.get("registry_ca") or ""
    if ca and "-----BEGIN CERTIFICATE-----" not in ca:
        problems.append("speech_containers_registry_ca: not a PEM certificate (the text between -----BEGIN CERTIFICATE----- and -----END CERTIFICATE-----)")
    registry = settings.get("registry")
    if registry is not None and (not re.match(r"^[a-z0-9.-]+(:\d+)?(/[a-z0-9._/-]+)?$", str(registry), re.IGNORECASE) or "://" in str(registry)):
        problems.append("speech_containers_registry: %r is not a registry like mcr.microsoft.com or mirror.example.com:5443[/prefix] (no scheme)"
                        % registry)
    for key in ("ready_timeout", "status_timeout", "pull_retries", "pull_delay"):
        value = settings.get(key)
        if value is None:
            continue
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else -1
        except ValueError:
            number = -1
        if number < 0:
            problems.append("speech_containers_%s: %r; allowed: a whole number of seconds (or tries), 0 or more" % (key, value))
    return problems


def is_ip(text):
    """Whether text is an IPv4 or IPv6 address literal (not a name)."""
    text = str(text or "").strip("[]")
    if re.match(r"^\d{1,3}(\.\d{1,3}){3}$", text):
        return all(0 <= int(part) <= 255 for part in text.split("."))
    return ":" in text and re.match(r"^[0-9a-fA-F:.]+$", text) is not None


def state_paths(plan):
    """Every host path whose state the role needs: the containers' directories and licence markers."""
    paths = []
    for spec in plan:
        paths += [d["path"] for d in spec["dirs"]]
        if spec["disconnected"]:
            paths.append(license_marker(spec))
    return sorted(set(paths))


def spec_from_labels(labels, state="started"):
    """A container's spec as it was applied, rebuilt from its labels; None when they are not ours or unreadable."""
    labels = labels or {}
    try:
        spec = json.loads(labels.get(LABEL_SPEC) or "")
    except ValueError:
        return None
    if not isinstance(spec, dict) or labels.get(LABEL_MANAGED) != "true":
        return None
    spec["state"] = state
    spec["spec_hash"] = labels.get(LABEL_HASH, "")
    spec["labels"] = dict((k, v) for k, v in labels.items() if k.startswith(LABEL_PREFIX))
    return spec


def _short(value, limit=60):
    return textutil.excerpt(value if isinstance(value, str) else json.dumps(value, sort_keys=True), limit)


def _image_word(image_id):
    return (image_id or "none").replace("sha256:", "")[:12]


def change_reason(before, after, image_before=None, image_after=None):
    """Why a container is recreated, in a few words, from its spec as applied (labels) and as planned.

    Secrets never appear: they count only through the spec hash, which is named as such."""
    if before is None:
        return "its labels do not say how it was made (not made by this version of onprem.speech)"
    changed = []
    ignore = ["name", "labels", "state", "spec_hash", "policy", "dirs", "title", "published_port", "memory_mb", "tagged_image"]
    if before.get("image") != after.get("image"):
        # The reference says it all: registry, tag, digest, version, locale, voice.
        changed.append("image %s -> %s" % (_short(str(before.get("image")).rsplit("/", 1)[-1], 80),
                                           _short(str(after.get("image")).rsplit("/", 1)[-1], 80)))
        if before.get("registry") != after.get("registry"):
            changed.append("registry %s -> %s" % (before.get("registry"), after.get("registry")))
        ignore += ["image", "registry", "tag", "digest", "version", "locale", "voice"]
    for key in sorted(set(before) | set(after)):
        if key in ignore or before.get(key) == after.get(key):
            continue
        if key == "env":
            old, new = before.get(key) or {}, after.get(key) or {}
            changed.append("env %s" % ", ".join(sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))))
        elif key in ("args", "mounts"):
            changed.append("%s changed" % key)
        else:
            changed.append("%s %s -> %s" % (key, _short(before.get(key)), _short(after.get(key))))
    if changed:
        return "; ".join(changed)
    if image_before and image_after and image_before != image_after:
        return "image %s -> %s (the reference now points at other content)" % (_image_word(image_before), _image_word(image_after))
    return "billing settings or secret values changed (seen through their fingerprints)"


def limits_drift(have, spec):
    """Why a container's CPU or memory limit on the engine is not the planned one (changed outside the collection), or None."""
    limits = (have or {}).get("limits") or {}
    found = []
    cpus = limits.get("nano_cpus")
    if cpus is not None and int(cpus) != int(round(float(spec["cpus"]) * 1e9)):
        found.append("cpus %s on the host, %s planned" % (_num(int(cpus) / 1e9), _num(float(spec["cpus"]))))
    memory = limits.get("memory")
    if memory is not None and int(memory) != int(spec["memory_mb"]) * 1024 * 1024:
        found.append("memory %s on the host, %s planned" % (mb_to_docker(int(memory) // (1024 * 1024)), spec["memory"]))
    return ("changed outside the collection: " + ", ".join(found)) if found else None


def plan_changes(plan, info, remove_unlisted=None, license_refresh=False, list_given=True, adopt_dirs=False, billing_gate=True):
    """What the role must do on this host, from the plan and onprem.speech.speech_info's answer.

    A container is left alone when it exists with the planned spec hash, runs the
    image the reference points at now, and is in the planned state. Of the others,
    `new` ones do not exist yet, `replace` ones are recreated (the running one is
    kept as <name>.previous until the new one is ready, for a rollback that
    restores exactly what ran, key included), and `restate` ones only start or
    stop. A <name>.previous left by an interrupted run is taken back (`adopt`) when
    <name> is gone, and removed when <name> is there.

    remove_unlisted None removes unlisted containers when the list is given (list_given), never when it is not;
    `refusals` are the reasons to change nothing: a list that is not given while managed containers run (the
    operator must say [] or remove_unlisted), an existing directory that is not the collection's (adopt_dirs).

    `actions` says, per container, what will happen and why, with no secret in it;
    `apply` holds the specs to apply, each with its change; `rollback` what the
    speech_container module needs to undo them; `gate` the running containers that
    use the planned billing settings (the billing gate asks them first). `ask_gate`: the gate
    asks them on this run (billing_gate is on, and a container is replaced or restated while one
    of them runs); `prepare`: the role has directories to make, containers to remove, licences
    to fetch or the gate to ask before it creates anything (tasks/prepare.yml). `steady`: nothing at
    all to do on this host (site.yml proves such a host ready outside the rollout's batches, and the
    role's entry point steady refuses any other); the one place that decides it. `changing`: the actions
    other than unchanged (what the role says it changed, and its result's changes)."""
    info = info or {}
    current = dict((c["name"], c) for c in info.get("containers") or [])
    images = info.get("images") or {}
    paths = info.get("paths") or {}
    planned = set(spec["name"] for spec in plan)
    ours = managed_mounts(info.get("containers"))
    apply, new, replace, restate, unchanged, absent, previous, licenses, dirs = [], [], [], [], [], [], {}, [], []
    actions, rollback, gate, stale, refusals = [], [], [], [], []
    remove = list_given if remove_unlisted is None else bool(remove_unlisted)
    ready_record = ((info.get("host_state") or {}).get("ready")) or {}
    for spec in plan:
        name = spec["name"]
        have = current.get(name)
        kept = current.get(name + PREVIOUS_SUFFIX)
        # A container Docker is removing, or a dead one, is gone for the plan: it can neither serve nor come back.
        if have is not None and have.get("state") in GONE_STATES:
            have = None
        adopt = have is None and kept is not None
        # An interrupted replace: <name>.previous, the last container proven ready, beside an unproven <name>.
        leftover = None
        if adopt:
            have = kept
        elif kept is not None:
            if (ready_record.get(name) or {}).get("id") and ready_record[name]["id"] == have.get("id"):
                # <name> was proven ready and the run stopped before it dropped <name>.previous: that one is redundant.
                stale.append(name + PREVIOUS_SUFFIX)
            else:
                leftover = kept
        if spec["state"] == "absent":
            if have:
                absent.append(have["name"])
                actions.append({"name": name, "action": "removed", "reason": "planned absent"})
            continue
        image = images.get(spec["image"]) or {}
        for wanted in spec["dirs"]:
            stat = paths.get(wanted["path"]) or {}
            owner = image.get("uid")
            group = image.get("gid")
            if not stat.get("exists") or not stat.get("isdir") or (owner is not None and (stat.get("uid"), stat.get("gid")) != (owner, group)):
                refusal = dir_refusal(spec, wanted, stat, owner, adopt_dirs, ours=ours)
                if refusal:
                    refusals.append(refusal)
                    continue
                # A directory the role makes gets 0750; one it is handed keeps its mode bits (a sticky bit included).
                dirs.append({"path": wanted["path"], "owner": owner if owner is not None else 0, "group": group if group is not None else 0,
                             "purpose": wanted["purpose"], "container": name, "mode": stat.get("mode") if stat.get("exists") else "0750"})
        same_config = (have is not None and have.get("spec_hash") == spec["spec_hash"] and image.get("id") is not None
                       and have.get("image_id") == image.get("id"))
        # Limits changed on the host (docker update) leave the labels as they were: the engine's own values tell.
        limits_changed = limits_drift(have, spec) if same_config else None
        same_config = same_config and not limits_changed
        # Running and serving: Docker's State.Running is true for a paused and a restarting container too.
        running = is_running(have)
        if have is not None and running and not spec["disconnected"] and (have.get("labels") or {}).get(LABEL_BILLING) == spec["labels"].get(LABEL_BILLING):
            gate.append(name)
        crash_loop = (have or {}).get("state") == "restarting"
        if same_config and running == (spec["state"] == "started") and not adopt and leftover is None:
            unchanged.append(name)
            actions.append({"name": name, "action": "unchanged", "reason": ""})
            continue
        keep_previous = False
        if leftover is not None:
            # The interrupted replace is finished one way or the other; <name>.previous stays until a successor is ready.
            kept_same = (leftover.get("spec_hash") == spec["spec_hash"] and image.get("id") is not None
                         and leftover.get("image_id") == image.get("id") and not limits_drift(leftover, spec))
            unproven = "an interrupted run left %s unproven beside %s, the last container proven ready" % (name, leftover["name"])
            if kept_same:
                change, reason = "restore", "%s; the plan is %s's, so it is put back" % (unproven, leftover["name"])
            elif same_config:
                change, reason = "resume", "%s; %s runs the plan and is proven ready before %s is dropped" % (unproven, name, leftover["name"])
            else:
                change, keep_previous = "replace", True
                reason = "%s; %s is kept until the new one is ready; %s" % (
                    unproven, leftover["name"], change_reason(spec_from_labels(leftover.get("labels")), spec, leftover.get("image_id"), image.get("id")))
        elif have is None:
            change, reason = "new", "not on the host"
        elif same_config:
            change = "restate"
            state = have.get("state")
            reason = "planned %s, it is %s" % (spec["state"], "running" if running else state if state in ("paused", "restarting") else "stopped")
        else:
            change = "replace"
            reason = limits_changed or change_reason(spec_from_labels(have.get("labels")), spec, have.get("image_id"), image.get("id"))
            if crash_loop:
                reason += " (it is in a crash loop: %s)" % crash_words(have)
        if adopt:
            reason = "taken back from %s (an interrupted run); %s" % (kept["name"], reason)
        {"new": new, "replace": replace, "restate": restate, "resume": replace, "restore": restate}[change].append(name)
        # What the guard and the rollback put back: the last container proven ready, running when the plan wants it.
        back = leftover if leftover is not None else have
        back_running = (spec["state"] == "started") if leftover is not None else running
        apply.append(dict(spec, change=change, adopt=adopt, keep_previous=keep_previous,
                          previous_id=back.get("id") if back else None, previous_running=back_running))
        words = {"new": "created", "replace": "replaced", "restate": "started" if spec["state"] == "started" else "stopped",
                 "resume": "replaced", "restore": "restored"}
        actions.append({"name": name, "action": words[change], "reason": reason})
        rollback.append({"name": name, "change": change, "previous_id": back.get("id") if back else None, "previous_running": back_running})
        previous[name] = spec_from_labels(back.get("labels"), "started" if back_running else "stopped") if back else None
        if spec["disconnected"] and spec["state"] == "started":
            marker = paths.get(license_marker(spec)) or {}
            image_moved = have is not None and have.get("image_id") != image.get("id")
            if license_refresh or not marker.get("exists") or image_moved:
                licenses.append(spec)
    adopted = set(spec["name"] + PREVIOUS_SUFFIX for spec in apply if spec["adopt"])
    unlisted = []
    managed = sorted(n for n in current if not n.endswith(PREVIOUS_SUFFIX))
    if not list_given and remove_unlisted is None and managed:
        refusals.append("speech_containers_list: not set for this host (a misspelt variable, or a host outside the group that sets it?), "
                        "and the run would remove every container it manages here: %s. Set speech_containers_list: [] to remove them, "
                        "or speech_containers_remove_unlisted: false to keep them" % ", ".join(managed))
    if remove:
        unlisted = sorted(name for name in current if name not in planned and name not in adopted and name not in stale
                          and not (name.endswith(PREVIOUS_SUFFIX) and name[:-len(PREVIOUS_SUFFIX)] in planned))
        actions.extend({"name": name, "action": "removed", "reason": "not in speech_containers_list"} for name in unlisted)
    actions.extend({"name": name, "action": "removed", "reason": "left by an interrupted run"} for name in stale)
    missing = sorted(set(spec["image"] for spec in plan if spec["state"] != "absent" and not (images.get(spec["image"]) or {}).get("present")))
    # Images to pull or load: one missing, or one that follows its tag (image_policy always: pulled on every run).
    pull = bool(missing) or any(spec["state"] != "absent" and spec.get("policy") == "always" for spec in plan)
    ask_gate = bool(billing_gate) and bool(replace + restate) and bool(gate)
    removed = absent + unlisted + stale
    return {"apply": apply, "new": new, "replace": replace, "restate": restate, "unchanged": unchanged, "absent": removed,
            "previous": previous, "licenses": licenses, "dirs": dirs, "missing_images": missing, "pull": pull, "actions": actions, "rollback": rollback,
            "gate": gate, "ask_gate": ask_gate, "prepare": bool(dirs or removed or licenses or ask_gate),
            "steady": not (apply or removed or dirs or licenses), "refusals": refusals,
            # community.docker's docker_image_pull and docker_container pull the images and create, stop and start the
            # containers: they need requests on the host (the look says whether it is there; None from an older look). The
            # role refuses before any change (not in --check: the docker role of the same run may be about to install it).
            "needs_requests": (bool(apply) or pull) and (info or {}).get("python_requests") is False,
            "changing": [action for action in actions if action["action"] != "unchanged"]}


def image_requests(plan):
    """[{ref, policy}] of the images the plan's containers need, each once."""
    found = {}
    for spec in plan:
        if spec["state"] != "absent" and spec["image"] not in found:
            found[spec["image"]] = {"ref": spec["image"], "policy": spec.get("policy") or "missing"}
    return [found[ref] for ref in sorted(found)]


def secret_fingerprints(secret_env):
    """{container: one-way fingerprint of its secret environment} (so a rotated secret recreates the container)."""
    found = {}
    for name, values in sorted((secret_env or {}).items()):
        if isinstance(values, dict) and values:
            blob = json.dumps(dict((str(k), str(v)) for k, v in values.items()), sort_keys=True)
            found[str(name)] = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
    return found


def actions_summary(actions, host, check_mode=False):
    """One line per container: what happened (or would) and why; "" when nothing changes."""
    changing = [a for a in actions or [] if a.get("action") != "unchanged"]
    if not changing:
        return ""
    lines = ["%s on %s:" % ("Would change" if check_mode else "Changed", host)]
    for action in actions:
        words = action["action"] if not check_mode or action["action"] == "unchanged" else "would be " + action["action"]
        lines.append("  %s: %s%s" % (action["name"], words, (" (%s)" % action["reason"]) if action.get("reason") else ""))
    return "\n".join(lines)


def rollback_note(rollback_run, host, readiness=None, failure="", previous=None):
    """'Rolled back on HOST: stt-en restored to <image> (running), lid removed (it was new); ready again.' (no secrets)."""
    previous = previous or {}
    words = []
    for action in (rollback_run or {}).get("actions") or []:
        image = (previous.get(action["name"]) or {}).get("image")
        text = "%s %s" % (action["name"], action["action"])
        if action["action"].startswith("restored") and image:
            text += " to " + image
        words.append(text + ((" (%s)" % action["detail"]) if action.get("detail") else ""))
    note = "Rolled back on %s: %s" % (host, ", ".join(words) or "nothing to put back")
    if failure:
        note += "; THE ROLLBACK DID NOT FINISH: %s" % failure
    readiness = readiness or {}
    if readiness.get("containers") is None:
        return note + "."
    if readiness.get("all_ready"):
        return note + "; ready again."
    return note + "; NOT ready after the rollback: %s" % (readiness.get("failures") or readiness.get("summary") or "")


BILLING_DOWN = ("CouldNotConnect", "BillingEndpointBusy")


def billing_gate(readiness, changes, endpoint):
    """Why the host must not be changed now, or "".

    The gate asked the running containers that use the planned billing settings for /status
    (readiness with probe off and no waiting). If one says billing is unreachable, or refuses
    queries because billing has been unreachable for long, its successor would fail the same
    way: nothing is replaced."""
    down = []
    for report in (readiness or {}).get("containers") or []:
        status = report.get("api_status")
        if status in BILLING_DOWN or (report.get("likely_cause") or "").startswith("billing unreachable"):
            down.append("%s: /status %s" % (report["name"], status or excerpt_words(report.get("message"))))
    if not down:
        return ""
    pending = ["%s %s" % (a["name"], a["action"]) for a in (changes or {}).get("actions") or [] if a["action"] not in ("unchanged", "removed")]
    return ("Billing is unreachable from this host's containers (%s; billing endpoint %s): nothing was replaced or restarted, "
            "because the new containers would fail the same way. Pending: %s. Restore egress to the billing endpoint (443, DNS, proxy), "
            "then run again; speech_containers_billing_gate: false skips this check."
            % (", ".join(down), redact_userinfo(endpoint or "?"), ", ".join(pending) or "none"))


def excerpt_words(words, limit=80):
    return textutil.excerpt(words, limit)


def readiness_targets(plan):
    """The readiness module's `containers` option for the started containers of a plan."""
    targets = []
    for spec in plan:
        if spec["state"] != "started":
            continue
        host = spec["host_ip"] if spec["host_ip"] not in ("0.0.0.0", "::", "") else "127.0.0.1"
        targets.append({"name": spec["name"], "kind": spec["kind"], "port": spec["host_port"], "host": host, "protocol": spec["protocol"],
                        "locale": spec["locale"], "voice": spec["voice"], "disconnected": spec["disconnected"]})
    return targets


def redact(words, *secrets):
    """The text with every given secret replaced by <hidden>; empty secrets are ignored (module_utils/text.py)."""
    return textutil.redact(words, secrets)


def report(plan, info, readiness, client_host, changes=None):
    """One row per planned container, for the run's summary and the fleet report (no secrets)."""
    images = (info or {}).get("images") or {}
    probed = dict((c.get("name"), c) for c in (readiness or {}).get("containers") or [])
    changed = set(spec["name"] for spec in (changes or {}).get("apply") or [])
    rows = []
    for spec in plan:
        probe = probed.get(spec["name"]) or {}
        image = images.get(spec["image"]) or {}
        rows.append({
            "name": spec["name"],
            "kind": spec["kind"],
            "title": spec["title"],
            "state": spec["state"],
            "image": spec["image"],
            "digest": image.get("digest"),
            "url": client_url(spec, client_host),
            "cpus": spec["cpus"],
            "memory": spec["memory"],
            "ready": bool(probe.get("ready")) if probe else None,
            "api_status": probe.get("api_status"),
            "stage": probe.get("stage"),
            "message": probe.get("message"),
            "changed": spec["name"] in changed,
        })
    return rows
