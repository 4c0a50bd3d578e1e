# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsing of what a Linux host tells about itself.

Every function here takes text (or dicts, or a "read file" callable) and
returns values: no file, socket or process access, so each one is unit-tested
against real samples kept under tests/unit/fixtures/. The host_facts module
does the reading and calls these.

Sources of the formats:
- /proc/cpuinfo, /proc/meminfo, /proc/net/tcp{,6}: proc(5) and the kernel's
  Documentation/filesystems/proc.rst;
- cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us / memory.limit_in_bytes:
  Documentation/scheduler/sched-bwc.rst, admin-guide/cgroup-v1/memory.rst;
- cgroup v2 cpu.max / memory.max: Documentation/admin-guide/cgroup-v2.rst;
- /proc/self/cgroup: cgroups(7) ("hierarchy-ID:controller-list:cgroup-path");
- Docker Engine API: GET /version, /info, /containers/json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import posixpath
import re

from ansible_collections.onprem.speech.plugins.module_utils.labels import LABEL_MANAGED

CGROUP_ROOT = "/sys/fs/cgroup"

# cgroup v1 reports "no limit" as a huge page-rounded number
# (9223372036854771712 on x86_64); anything this large is no limit.
UNLIMITED_BYTES = 2 ** 60

DEFAULT_DOCKER_DATA_ROOT = "/var/lib/docker"

# The label the speech_containers role puts on every container it manages.
MANAGED_LABEL = LABEL_MANAGED

# TCP state 0A is LISTEN (include/net/tcp_states.h: TCP_LISTEN = 10).
TCP_LISTEN = "0A"

MIB = 1024 * 1024

# aarch64 kernels print no "model name": only "CPU implementer" and "CPU part".
# Names for the ids that have one clear name (as util-linux lscpu names them);
# an id not listed gives no model rather than a guess.
ARM_PARTS = {
    "0x41": {
        "vendor": "ARM",
        "parts": {
            "0xd03": "Cortex-A53",
            "0xd04": "Cortex-A35",
            "0xd05": "Cortex-A55",
            "0xd07": "Cortex-A57",
            "0xd08": "Cortex-A72",
            "0xd09": "Cortex-A73",
            "0xd0a": "Cortex-A75",
            "0xd0b": "Cortex-A76",
            "0xd0c": "Neoverse-N1",
            "0xd0d": "Cortex-A77",
            "0xd40": "Neoverse-V1",
            "0xd41": "Cortex-A78",
            "0xd49": "Neoverse-N2",
            "0xd4f": "Neoverse-V2",
            "0xd8e": "Neoverse-N3",
        },
    },
    "0xc0": {
        "vendor": "Ampere",
        "parts": {
            "0xac3": "Ampere-1",
            "0xac4": "Ampere-1a",
        },
    },
}

_MODEL_CLOCK = re.compile(r"@\s*([0-9]+(?:\.[0-9]+)?)\s*([GM])Hz", re.IGNORECASE)


# ---------------------------------------------------------------- /proc/cpuinfo

def split_cpuinfo(text):
    """(processors, other) from /proc/cpuinfo text.

    `processors` is a list of dicts, one per "processor" entry, in order;
    `other` holds keys outside any processor entry (e.g. aarch64 "Hardware").
    Keys keep their case ("Processor" on old aarch64 kernels is a model
    string, "processor" is the entry number) and lose surrounding blanks."""
    processors = []
    other = {}
    current = None
    for line in (text or "").splitlines():
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        key = key.strip()
        value = value.strip()
        if not key:
            continue
        if key == "processor":
            current = {"processor": value}
            processors.append(current)
        elif current is not None:
            current.setdefault(key, value)
        else:
            other.setdefault(key, value)
    return processors, other


def model_name_mhz(model):
    """The nominal clock in a model name ("... @ 2.60GHz" -> 2600.0), else None."""
    found = _MODEL_CLOCK.search(model or "")
    if not found:
        return None
    value = float(found.group(1))
    if found.group(2).upper() == "G":
        value = value * 1000
    return round(value, 1) if value > 0 else None


def _to_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def arm_model(implementer, part):
    """"ARM Neoverse-N1" for a known implementer/part pair, else None."""
    vendor = ARM_PARTS.get((implementer or "").lower())
    if not vendor:
        return None
    name = vendor["parts"].get((part or "").lower())
    if not name:
        return None
    return "%s %s" % (vendor["vendor"], name)


def cpuinfo_facts(text):
    """What /proc/cpuinfo says, as a dict.

    Keys: logical_cpus (int or None), cpu_model, cpu_vendor (str or None),
    avx2, avx512f (bool: every flags line carries the flag; no flags line,
    False), model_name_mhz (nominal clock in the model name, or None),
    cpuinfo_mhz (the lowest positive "cpu MHz", or None)."""
    processors, other = split_cpuinfo(text)
    entries = processors or ([other] if other else [])

    def first(key):
        for entry in entries:
            if entry.get(key):
                return entry[key]
        return other.get(key) or None

    model = first("model name")
    if not model:
        model = arm_model(first("CPU implementer"), first("CPU part"))

    flag_sets = [set(entry["flags"].split()) for entry in entries if "flags" in entry]
    mhz = [_to_float(entry.get("cpu MHz")) for entry in entries]
    mhz = [value for value in mhz if value is not None and value > 0]

    return {
        "logical_cpus": len(processors) or None,
        "cpu_model": model,
        "cpu_vendor": first("vendor_id"),
        "avx2": bool(flag_sets) and all("avx2" in flags for flags in flag_sets),
        "avx512f": bool(flag_sets) and all("avx512f" in flags for flags in flag_sets),
        "model_name_mhz": model_name_mhz(model),
        "cpuinfo_mhz": min(mhz) if mhz else None,
    }


def cpufreq_max_mhz(values):
    """The lowest per-core maximum in MHz from cpufreq cpuinfo_max_freq texts (kHz).

    Unreadable (None) or non-positive values are skipped; None when none is left."""
    found = []
    for value in values or []:
        khz = _to_float((value or "").strip())
        if khz is not None and khz > 0:
            found.append(khz / 1000.0)
    return round(min(found), 1) if found else None


def core_max_mhz(cpufreq_values, cpuinfo):
    """(mhz, source): the per-core maximum clock every core reaches, and where it came from.

    In order: cpufreq cpuinfo_max_freq, the nominal clock in the model name,
    the lowest "cpu MHz" in /proc/cpuinfo. (None, None) when none tells."""
    mhz = cpufreq_max_mhz(cpufreq_values)
    if mhz is not None:
        return mhz, "cpufreq"
    if cpuinfo.get("model_name_mhz"):
        return cpuinfo["model_name_mhz"], "cpuinfo_model_name"
    if cpuinfo.get("cpuinfo_mhz"):
        return cpuinfo["cpuinfo_mhz"], "cpuinfo_mhz"
    return None, None


# ---------------------------------------------------------------- /proc/meminfo

def parse_meminfo(text):
    """{key: value in kB (int)} from /proc/meminfo; HugePages_* counts stay counts."""
    values = {}
    for line in (text or "").splitlines():
        if ":" not in line:
            continue
        key, rest = line.split(":", 1)
        parts = rest.split()
        if not parts:
            continue
        try:
            values[key.strip()] = int(parts[0])
        except ValueError:
            continue
    return values


def meminfo_facts(text):
    """{"memory_total_mb", "memory_available_mb"}: MiB (int) or None."""
    values = parse_meminfo(text)

    def mib(key):
        return values[key] // 1024 if key in values else None

    return {"memory_total_mb": mib("MemTotal"), "memory_available_mb": mib("MemAvailable")}


# ---------------------------------------------------------------- cgroups

def parse_proc_cgroup(text):
    """[(hierarchy_id, [controllers], path)] from /proc/<pid>/cgroup text.

    The v2 entry is (0, [], path). Paths are normalised ("/" for the root of
    the process's cgroup namespace)."""
    entries = []
    for line in (text or "").splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        try:
            hierarchy = int(parts[0])
        except ValueError:
            continue
        controllers = [item for item in parts[1].split(",") if item]
        path = posixpath.normpath("/" + parts[2].strip().lstrip("/"))
        entries.append((hierarchy, controllers, path))
    return entries


def path_ancestors(path):
    """The path and each ancestor up to "/": "/a/b" -> ["/a/b", "/a", "/"]."""
    found = []
    path = posixpath.normpath("/" + (path or "/").lstrip("/"))
    while True:
        found.append(path)
        if path == "/":
            return found
        path = posixpath.dirname(path)


def _v1_mount_dirs(controller, controllers, root):
    """Where a v1 controller's hierarchy may be mounted: /sys/fs/cgroup/cpu,cpuacct, .../cpu."""
    names = [",".join(controllers), ",".join(sorted(controllers)), controller]
    found = []
    for name in names:
        mount = posixpath.join(root, name)
        if mount not in found:
            found.append(mount)
    return found


def _level_dir(mount, path):
    return mount if path == "/" else mount + path


def _cgroup_levels(proc_cgroup_text, v1_controller, root):
    """(dir, version) for every level of the process's cgroup, v1 and v2, deepest first."""
    levels = []
    for hierarchy, controllers, path in parse_proc_cgroup(proc_cgroup_text):
        if hierarchy == 0 and not controllers:
            mounts = [(root, 2)]
        elif v1_controller in controllers:
            mounts = [(mount, 1) for mount in _v1_mount_dirs(v1_controller, controllers, root)]
        else:
            continue
        for mount, version in mounts:
            for level in path_ancestors(path):
                levels.append((_level_dir(mount, level), version))
    return levels


def _read_int(read_file, path):
    text = read_file(path)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def cpu_limit_v1(quota_text, period_text):
    """CPUs allowed by cpu.cfs_quota_us / cpu.cfs_period_us; None when unlimited or unreadable."""
    try:
        quota = int((quota_text or "").strip())
        period = int((period_text or "").strip())
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def cpu_limit_v2(cpu_max_text):
    """CPUs allowed by a cgroup v2 cpu.max ("150000 100000"); None for "max ..." or unreadable."""
    parts = (cpu_max_text or "").split()
    if not parts or parts[0] == "max":
        return None
    try:
        quota = int(parts[0])
        period = int(parts[1]) if len(parts) > 1 else 100000
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def memory_limit_bytes(text):
    """Bytes allowed by memory.limit_in_bytes (v1) or memory.max (v2); None when unlimited."""
    value = (text or "").strip()
    if not value or value == "max":
        return None
    try:
        limit = int(value)
    except ValueError:
        return None
    if limit <= 0 or limit >= UNLIMITED_BYTES:
        return None
    return limit


def cgroup_cpu_limit(proc_cgroup_text, read_file, root=CGROUP_ROOT):
    """The CPU count this process's cgroup allows (float), None when unlimited.

    proc_cgroup_text is /proc/self/cgroup; read_file(path) returns the file's
    text or None. The limit is the minimum over the process's cgroup and each
    ancestor whose files exist, in v1 (cpu controller) and v2 hierarchies.
    This covers a private cgroup namespace ("/": the files are at the mount
    root), cgroupns=host with the host's /sys/fs/cgroup mounted (the files
    are under /sys/fs/cgroup/cpu/docker/<id>) and cgroupns=host without it
    (the container's own cgroup is mounted at the root: only "/" exists)."""
    limits = []
    for directory, version in _cgroup_levels(proc_cgroup_text, "cpu", root):
        if version == 1:
            quota = read_file(directory + "/cpu.cfs_quota_us")
            if quota is None:
                continue
            limit = cpu_limit_v1(quota, read_file(directory + "/cpu.cfs_period_us"))
        else:
            limit = cpu_limit_v2(read_file(directory + "/cpu.max"))
        if limit is not None:
            limits.append(limit)
    return round(min(limits), 3) if limits else None


def cgroup_memory_limit(proc_cgroup_text, read_file, root=CGROUP_ROOT):
    """The memory this process's cgroup allows in bytes (int), None when unlimited.

    Same resolution as cgroup_cpu_limit (minimum over the path and its
    ancestors, v1 memory.limit_in_bytes and v2 memory.max)."""
    limits = []
    for directory, version in _cgroup_levels(proc_cgroup_text, "memory", root):
        name = "/memory.limit_in_bytes" if version == 1 else "/memory.max"
        limit = memory_limit_bytes(read_file(directory + name))
        if limit is not None:
            limits.append(limit)
    return min(limits) if limits else None


# ---------------------------------------------------------------- combining

def usable_cpus(logical_cpus, affinity_cpus, cgroup_cpus):
    """The smallest known CPU count (float), None when none is known."""
    known = [float(value) for value in (logical_cpus, affinity_cpus, cgroup_cpus) if value is not None]
    return min(known) if known else None


def bytes_to_mb(value):
    return None if value is None else int(value // MIB)


def usable_memory_mb(memory_total_mb, cgroup_memory_limit_mb):
    """The host's memory, capped by the cgroup limit when one is set."""
    known = [value for value in (memory_total_mb, cgroup_memory_limit_mb) if value is not None]
    return min(known) if known else None


# ---------------------------------------------------------------- /proc/sys, /proc/net

def parse_ip_forward(text):
    """True/False from /proc/sys/net/ipv4/ip_forward, None when unreadable."""
    value = (text or "").strip()
    if value == "1":
        return True
    if value == "0":
        return False
    return None


def proc_net_listen_ports(text):
    """The local ports of LISTEN sockets in one /proc/net/tcp or tcp6 text (a set of ints)."""
    ports = set()
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[0] == "sl" or fields[3].upper() != TCP_LISTEN:
            continue
        local = fields[1]
        if ":" not in local:
            continue
        try:
            ports.add(int(local.rsplit(":", 1)[1], 16))
        except ValueError:
            continue
    return ports


def listening_ports(*texts):
    """Sorted unique TCP LISTEN ports across /proc/net/tcp and /proc/net/tcp6 texts."""
    ports = set()
    for text in texts:
        ports |= proc_net_listen_ports(text)
    return sorted(ports)


# ---------------------------------------------------------------- Docker

def daemon_json_data_root(text):
    """The "data-root" set in /etc/docker/daemon.json text, else None (also for bad JSON)."""
    if not text:
        return None
    try:
        config = json.loads(text)
    except ValueError:
        return None
    if not isinstance(config, dict):
        return None
    value = config.get("data-root") or config.get("graph")
    return value if isinstance(value, str) and value else None


def docker_data_root(info, daemon_json_text):
    """DockerRootDir from /info when known; else daemon.json's data-root; else /var/lib/docker."""
    if isinstance(info, dict) and info.get("DockerRootDir"):
        return info["DockerRootDir"]
    return daemon_json_data_root(daemon_json_text) or DEFAULT_DOCKER_DATA_ROOT


def nearest_existing_path(path, exists):
    """The path itself when exists(path), else its nearest ancestor that exists ("/" at worst)."""
    for candidate in path_ancestors(path):
        if exists(candidate):
            return candidate
    return "/"


# The container states in which Docker keeps a container's published ports bound.
PORT_HOLDING_STATES = ("running", "paused", "restarting")


def published_ports(containers):
    """[{port, container, managed}] for the published TCP host ports of the containers that hold them: running, and
    paused or restarting too (Docker keeps their bindings, so the port is theirs, not a process outside Docker's).

    containers is the parsed GET /containers/json list. The IPv4 and IPv6
    entries Docker lists for one binding become one item. Sorted by port, then name."""
    found = {}
    for container in containers or []:
        if not isinstance(container, dict):
            continue
        state = container.get("State")
        if state is not None and state not in PORT_HOLDING_STATES:
            continue
        names = container.get("Names") or []
        name = names[0].lstrip("/") if names else (container.get("Id") or "")[:12]
        labels = container.get("Labels") or {}
        managed = str(labels.get(MANAGED_LABEL, "")).lower() == "true"
        for binding in container.get("Ports") or []:
            if (binding.get("Type") or "tcp") != "tcp" or not binding.get("PublicPort"):
                continue
            port = int(binding["PublicPort"])
            found[(port, name)] = {"port": port, "container": name, "managed": managed}
    return [found[key] for key in sorted(found)]


def docker_version_facts(version):
    """(version, api_version) from the parsed GET /version answer."""
    if not isinstance(version, dict):
        return None, None
    return version.get("Version") or None, version.get("ApiVersion") or None


def local_addresses(fib_trie, if_inet6):
    """The host's own IPv4 and IPv6 addresses, from /proc/net/fib_trie ("/32 host LOCAL") and /proc/net/if_inet6.

    Sorted, each once; loopback included (127.0.0.1, ::1)."""
    found = set()
    previous = None
    for line in (fib_trie or "").splitlines():
        text = line.strip()
        if text.startswith("/32 host LOCAL") and previous:
            found.add(previous)
        parts = text.split()
        if len(parts) >= 2 and parts[0] in ("|--", "+--"):
            previous = parts[1].split("/")[0] if parts[0] == "|--" else None
    for line in (if_inet6 or "").splitlines():
        fields = line.split()
        if fields and len(fields[0]) == 32:
            raw = fields[0]
            groups = [raw[i:i + 4] for i in range(0, 32, 4)]
            found.add(_compress_ipv6(":".join(groups)))
    return sorted(found)


def _compress_ipv6(text):
    """A full IPv6 address in its shortest form (no ipaddress module needed)."""
    groups = [g.lstrip("0") or "0" for g in text.split(":")]
    best, start = (0, -1), None
    for index, group in enumerate(groups + ["x"]):
        if group == "0" and start is None:
            start = index
        elif group != "0" and start is not None:
            if index - start > best[0]:
                best = (index - start, start)
            start = None
    if best[0] < 2:
        return ":".join(groups)
    head = ":".join(groups[:best[1]])
    tail = ":".join(groups[best[1] + best[0]:])
    return head + "::" + tail


def stopped_ports(inspects):
    """[{port, container, managed, restart_policy}] for the TCP host ports configured on containers that do not run.

    inspects are the engine's inspects of stopped containers: such a container takes its ports when it
    starts (a restart policy, a reboot, an operator)."""
    found = {}
    for inspect in inspects or []:
        if not isinstance(inspect, dict) or (inspect.get("State") or {}).get("Running"):
            continue
        name = (inspect.get("Name") or "").lstrip("/") or (inspect.get("Id") or "")[:12]
        labels = (inspect.get("Config") or {}).get("Labels") or {}
        host = inspect.get("HostConfig") or {}
        policy = (host.get("RestartPolicy") or {}).get("Name") or "no"
        for key, bindings in (host.get("PortBindings") or {}).items():
            if not key.endswith("/tcp"):
                continue
            for binding in bindings or []:
                try:
                    port = int(binding.get("HostPort") or 0)
                except ValueError:
                    continue
                if port:
                    found[(port, name)] = {"port": port, "container": name, "restart_policy": policy,
                                           "managed": str(labels.get(MANAGED_LABEL, "")).lower() == "true"}
    return [found[key] for key in sorted(found)]
