#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_facts
short_description: Gather what a host offers to Azure AI Speech containers
version_added: 0.1.0
description:
  - Reads the target's CPU, memory, cgroup limits, listening ports and Docker engine,
    and returns them as the C(speech_host) fact, for the preflight checks that decide
    whether a host can run the speech containers it is given.
  - It is also the collection's one look at a host. Asked for them, it reports in the same call the packages, files,
    services, groups and GStreamer elements the roles compare, and the speech containers, images and directories;
    site.yml's preflight asks once for everything, and the roles then compare on the controller and call a changing
    module only where something differs.
  - It always sets the setup facts the roles read (C(distribution), C(distribution_major_version), C(distribution_version),
    C(distribution_release), C(os_family), C(service_mgr)), from C(/etc/os-release), so no play needs M(ansible.builtin.setup).
  - CPU facts come from C(/proc/cpuinfo) and C(/sys/devices/system/cpu/cpu*/cpufreq); they describe
    the CPU as seen I(inside) the target (a virtual machine sees the flags its hypervisor exposes).
  - The cgroup limits are those of the module's own process, resolved from C(/proc/self/cgroup)
    under C(/sys/fs/cgroup) (cgroup v1 and v2; private or host cgroup namespace); on a host
    that runs in a container they are the container's limits.
  - Docker is asked through its API socket with the Python standard library only; neither the
    Docker SDK nor C(requests) is needed on the target.
  - A piece that cannot be read (no cpufreq, no Docker engine, an unreadable file) is reported
    as V(null) or V(false); the module fails only on bad arguments. It never changes anything.
author:
  - onprem.speech maintainers (@onprem)
options:
  docker_timeout:
    description:
      - Seconds to wait for each answer from the Docker engine. Must be at least 1.
    type: int
    default: 5
  gather_docker:
    description:
      - Whether to ask the Docker engine at all.
      - When V(false), C(speech_host.docker.answers) is V(false) and C(speech_host.docker.error) says why.
    type: bool
    default: true
  paths:
    description:
      - Absolute host paths to examine (the directories the containers would mount); see RV(ansible_facts.speech_host.paths).
    type: list
    elements: str
    default: []
  resolve:
    description:
      - Host names to resolve from the host (for example the billing endpoint's); see RV(ansible_facts.speech_host.resolved).
    type: list
    elements: str
    default: []
  packages:
    description:
      - Names or shell-style patterns (V(docker*)) of packages to report when installed; see RV(ansible_facts.speech_host.packages).
      - Read from C(/var/lib/dpkg/status) where it exists, else with one C(rpm -qa).
    type: list
    elements: str
    default: []
  files:
    description:
      - Absolute paths of files to describe (existence, owner, mode, SHA-256); see RV(ansible_facts.speech_host.files).
    type: list
    elements: str
    default: []
  read:
    description:
      - Absolute paths of small text files (at most 64 KiB) whose content to return as well, in RV(ansible_facts.speech_host.files).
      - For configuration the roles compare, such as an apt source; never give a path that holds a secret.
    type: list
    elements: str
    default: []
  services:
    description:
      - systemd units to describe (loaded, active, enabled), with one C(systemctl show); see RV(ansible_facts.speech_host.services).
    type: list
    elements: str
    default: []
  groups:
    description:
      - Groups whose members to report; see RV(ansible_facts.speech_host.groups).
    type: list
    elements: str
    default: []
  users:
    description:
      - Accounts whose existence to report (from the host's account database); see RV(ansible_facts.speech_host.users).
    type: list
    elements: str
    default: []
  gstreamer_elements:
    description:
      - Whether to list the GStreamer elements (one C(gst-inspect-1.0)); see RV(ansible_facts.speech_host.gstreamer_elements).
    type: bool
    default: false
  query:
    description:
      - A look query as the roles write theirs (their C(vars/main.yml)), or several merged with the
        C(onprem.speech.speech_look_merge) filter; site.yml's preflight gives the docker and gstreamer roles' queries
        merged, in one option.
      - Its keys are those of O(packages), O(files), O(read), O(services), O(groups), O(users) (lists, each added to the option of the same
        name, each item once) and O(gstreamer_elements) (or-ed with the option). Any other key, or a value of another type,
        fails the call naming it.
    type: dict
    default: {}
  speech_state:
    description:
      - Whether to read the managed speech containers, the images of O(images) and the directories of O(paths), exactly as
        M(onprem.speech.speech_info) does, into RV(ansible_facts.speech_host.speech).
    type: bool
    default: false
  images:
    description:
      - Image references to inspect when O(speech_state) is set.
    type: list
    elements: str
    default: []
  label:
    description:
      - The label that marks the managed containers, when O(speech_state) is set.
    type: str
    default: onprem.speech.managed
extends_documentation_fragment:
  - onprem.speech.attributes
  - onprem.speech.docker_host
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - This action does not modify state.
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
notes:
  - C(core_max_mhz) is never guessed. Where neither cpufreq, nor a clock in the CPU model name, nor a
    C(cpu MHz) line tells (common on aarch64), it is V(null).
  - C(avx2) and C(avx512f) are the flags the target's kernel reports; a virtual machine whose CPU model
    hides them (for example C(kvm64) or C(qemu64)) reports V(false) even when the physical host has them.
seealso:
  - module: community.docker.current_container_facts
  - module: community.docker.docker_host_info
"""

EXAMPLES = r"""
---
- name: Gather the speech host facts
  onprem.speech.host_facts:

- name: Stop when the host cannot run a speech-to-text container
  ansible.builtin.assert:
    that:
      - ansible_facts['speech_host']['avx2']
      - ansible_facts['speech_host']['usable_cpus'] >= 4
      - ansible_facts['speech_host']['usable_memory_mb'] >= 4096
    fail_msg: "{{ inventory_hostname }} has too little CPU or memory for speech to text"

- name: Ask an engine that listens on TCP, and wait longer for it
  onprem.speech.host_facts:
    docker_host: tcp://127.0.0.1:2375
    docker_timeout: 15

- name: Only the host, not Docker (before Docker is installed)
  onprem.speech.host_facts:
    gather_docker: false
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to C(ansible_facts).
  returned: always
  type: dict
  contains:
    speech_host:
      description: What the host offers to the speech containers.
      returned: always
      type: dict
      contains:
        architecture:
          description: The target's machine type, what C(uname -m) prints (read with Python's C(platform.machine)).
          returned: always
          type: str
          sample: x86_64
        cpu_model:
          description:
            - The C(model name) from C(/proc/cpuinfo).
            - On aarch64, which has none, the core's name when its C(CPU implementer) and C(CPU part) have one clear
              name (for example C(ARM Neoverse-N1)); else V(null).
          returned: always
          type: str
          sample: Intel(R) Xeon(R) CPU E5-2650 v3 @ 2.30GHz
        cpu_vendor:
          description: The C(vendor_id) from C(/proc/cpuinfo), or V(null) (aarch64).
          returned: always
          type: str
          sample: GenuineIntel
        avx2:
          description: Whether every C(flags) line of C(/proc/cpuinfo) has C(avx2); V(false) with no C(flags) line.
          returned: always
          type: bool
          sample: true
        avx512f:
          description: Whether every C(flags) line of C(/proc/cpuinfo) has C(avx512f); V(false) with no C(flags) line.
          returned: always
          type: bool
          sample: false
        logical_cpus:
          description: The number of C(processor) entries in C(/proc/cpuinfo) (or Python's C(os.cpu_count) when it has none).
          returned: always
          type: int
          sample: 8
        affinity_cpus:
          description: The number of CPUs the module's process may run on (C(sched_getaffinity)), or V(null) where unknown.
          returned: always
          type: int
          sample: 8
        cgroup_cpus:
          description:
            - The CPUs the process's cgroup allows (quota divided by period), the smallest over its cgroup and ancestors.
            - V(null) when no cgroup limits the CPU.
          returned: always
          type: float
          sample: 1.5
        usable_cpus:
          description: The smallest of C(logical_cpus), C(affinity_cpus) and C(cgroup_cpus) that are known.
          returned: always
          type: float
          sample: 1.5
        core_max_mhz:
          description:
            - The maximum clock of the slowest core in MHz (every core must meet a per-core requirement).
            - V(null) when nothing tells; never a guess.
          returned: always
          type: float
          sample: 2300.0
        core_max_mhz_source:
          description:
            - Where C(core_max_mhz) came from, in the order tried.
            - V(cpufreq) is C(cpuinfo_max_freq) under C(/sys/devices/system/cpu/cpu*/cpufreq); V(cpuinfo_model_name) the
              nominal clock in the model name (C(@ 2.30GHz)); V(cpuinfo_mhz) the lowest C(cpu MHz) line.
          returned: always
          type: str
          choices: [cpufreq, cpuinfo_model_name, cpuinfo_mhz]
          sample: cpuinfo_model_name
        memory_total_mb:
          description: C(MemTotal) from C(/proc/meminfo), in MiB.
          returned: always
          type: int
          sample: 24105
        memory_available_mb:
          description: C(MemAvailable) from C(/proc/meminfo), in MiB.
          returned: always
          type: int
          sample: 23642
        cgroup_memory_limit_mb:
          description:
            - The memory the process's cgroup allows in MiB, the smallest over its cgroup and ancestors.
            - V(null) when no cgroup limits memory.
          returned: always
          type: int
          sample: 512
        usable_memory_mb:
          description: C(memory_total_mb), capped by C(cgroup_memory_limit_mb) when that is set.
          returned: always
          type: int
          sample: 512
        ip_forward:
          description: Whether C(/proc/sys/net/ipv4/ip_forward) is on (Docker needs it for published ports); V(null) if unreadable.
          returned: always
          type: bool
          sample: true
        listening_ports:
          description: The TCP ports something listens on (C(/proc/net/tcp) and C(/proc/net/tcp6)), sorted, each once.
          returned: always
          type: list
          elements: int
          sample: [22, 5000, 5001]
        addresses:
          description: The host's own IPv4 and IPv6 addresses (C(/proc/net/fib_trie), C(/proc/net/if_inet6)), loopback included.
          returned: always
          type: list
          elements: str
          sample: ["127.0.0.1", "172.30.0.5", "::1"]
        paths:
          description: One entry per path of O(paths), C(exists), C(isdir), C(uid), C(gid) and C(mode) (an octal string), symbolic links followed.
          returned: always
          type: dict
          sample: {"/var/tmp": {"exists": true, "isdir": true, "uid": 0, "gid": 0, "mode": "1777"}}
        resolved:
          description: One entry per name of O(resolve), with its C(addresses) and, when it does not resolve, the C(error).
          returned: always
          type: dict
          sample: {"my-speech.cognitiveservices.azure.com": {"addresses": ["20.38.1.2"], "error": null}}
        os:
          description: The system, with the names Ansible's setup uses (also set as those top-level facts).
          returned: always
          type: dict
          sample: {"distribution": "Debian", "distribution_version": "12.8", "distribution_major_version": "12",
                   "distribution_release": "bookworm", "os_family": "Debian", "service_mgr": "systemd"}
        packages:
          description: The installed packages that match O(packages), name to version; V(null) when no package database could be read.
          returned: always
          type: dict
          sample: {"docker.io": "20.10.24+dfsg1-1+deb12u1", "containerd": "1.6.20~ds1-1+b1"}
        files:
          description:
            - One entry per path of O(files) and O(read), C(exists), C(isdir), C(uid), C(gid), C(mode), C(size) and C(sha256)
              (of a regular file); C(content) too for a path of O(read).
          returned: always
          type: dict
          sample: {"/etc/docker/daemon.json": {"exists": true, "isdir": false, "uid": 0, "gid": 0, "mode": "0644", "size": 52,
                   "sha256": "3f1c..."}}
        services:
          description: One entry per unit of O(services), C(exists), C(active), C(enabled), C(active_state), C(unit_file_state).
          returned: always
          type: dict
          sample: {"docker": {"exists": true, "active": true, "enabled": true, "active_state": "active", "unit_file_state": "enabled"}}
        groups:
          description: One entry per group of O(groups), its members, or V(null) when there is no such group.
          returned: always
          type: dict
          sample: {"docker": ["deploy"]}
        users:
          description: One entry per account of O(users), V(true) when it exists on the host.
          returned: always
          type: dict
          sample: {"deploy": true, "nosuchuser": false}
        gstreamer_elements:
          description: The element names C(gst-inspect-1.0) lists, or V(null) when not asked or the tool is not there.
          returned: always
          type: list
          elements: str
          sample: [decodebin, flacparse, mpg123audiodec]
        query:
          description: What this call was asked for (O(packages), O(files), O(read), O(services), O(groups), O(users), O(gstreamer_elements),
            O(speech_state), O(images), O(paths), O(docker_host), O(label)), so a role can tell whether this look covers what it
            compares, and a role that changed the host can ask the same again.
          returned: always
          type: dict
        speech:
          description:
            - What M(onprem.speech.speech_info) returns (C(engine), C(containers), C(images), C(paths), C(host_state)), when O(speech_state) is set;
              else V(null).
          returned: always
          type: dict
        docker:
          description: The Docker engine.
          returned: always
          type: dict
          contains:
            managed_containers:
              description: The names of the containers, running or not, that carry the label C(onprem.speech.managed=true).
              returned: always
              type: list
              elements: str
              sample: [stt-en, tts]
            stopped_ports:
              description:
                - The host TCP ports configured on containers that do not run (they take them when they start),
                  with the container, whether the collection manages it, and its restart policy.
              returned: always
              type: list
              elements: dict
              sample: [{"port": 5001, "container": "old-tts", "managed": false, "restart_policy": "always"}]
            answers:
              description: Whether the engine answered on O(docker_host).
              returned: always
              type: bool
              sample: true
            version:
              description: The engine's version, or V(null) when it does not answer.
              returned: always
              type: str
              sample: 20.10.24+dfsg1
            api_version:
              description: The engine's API version, or V(null) when it does not answer.
              returned: always
              type: str
              sample: "1.41"
            data_root:
              description:
                - The engine's data directory, C(DockerRootDir) when it answers.
                - Otherwise C(data-root) from C(/etc/docker/daemon.json), else C(/var/lib/docker).
              returned: always
              type: str
              sample: /var/lib/docker
            data_root_free_mb:
              description:
                - Free space for the engine's data in MiB, on the file system of C(data_root),
                  or of its nearest existing parent when it does not exist yet.
              returned: always
              type: int
              sample: 51200
            error:
              description: Why the engine did not answer, or V(null) when it did.
              returned: always
              type: str
              sample: socket /var/run/docker.sock not found
            published_ports:
              description:
                - The host TCP ports that running containers publish, one item per port and container.
              returned: always
              type: list
              elements: dict
              contains:
                port:
                  description: The host port.
                  type: int
                  returned: always
                  sample: 5000
                container:
                  description: The container's name, without the leading slash.
                  type: str
                  returned: always
                  sample: speech-stt-en-us
                managed:
                  description: Whether the container carries the label C(onprem.speech.managed=true).
                  type: bool
                  returned: always
                  sample: true
              sample:
                - port: 5000
                  container: speech-stt-en-us
                  managed: true
"""

import glob
import grp
import hashlib
import os
import platform
import pwd
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.speech.plugins.module_utils import container_state, host_look, host_parse
from ansible_collections.onprem.speech.plugins.module_utils.container_state import stat_path
from ansible_collections.onprem.speech.plugins.module_utils.docker_socket import (
    DockerClient,
    DockerSocketError,
    parse_docker_host,
)

PROC_CPUINFO = "/proc/cpuinfo"
PROC_MEMINFO = "/proc/meminfo"
PROC_SELF_CGROUP = "/proc/self/cgroup"
PROC_IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
PROC_NET_TCP = "/proc/net/tcp"
PROC_NET_TCP6 = "/proc/net/tcp6"
PROC_FIB_TRIE = "/proc/net/fib_trie"
PROC_IF_INET6 = "/proc/net/if_inet6"
CPUFREQ_GLOB = "/sys/devices/system/cpu/cpu[0-9]*/cpufreq/cpuinfo_max_freq"
DAEMON_JSON = "/etc/docker/daemon.json"
OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
DEBIAN_VERSION = "/etc/debian_version"
DPKG_STATUS = "/var/lib/dpkg/status"
READ_LIMIT = 64 * 1024


def read_text(path):
    """The file's text, or None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return None


def affinity_cpus():
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    try:
        return len(getter(0))
    except OSError:
        return None


def free_mb(path):
    """Free MiB (for unprivileged users) on the file system of path or its nearest existing parent."""
    target = host_parse.nearest_existing_path(path, os.path.exists)
    try:
        stats = os.statvfs(target)
    except OSError:
        return None
    return int(stats.f_bavail * stats.f_frsize // host_parse.MIB)


def cpu_facts(proc_cgroup):
    cpuinfo = host_parse.cpuinfo_facts(read_text(PROC_CPUINFO))
    cpufreq = [read_text(path) for path in sorted(glob.glob(CPUFREQ_GLOB))]
    mhz, source = host_parse.core_max_mhz(cpufreq, cpuinfo)
    logical = cpuinfo["logical_cpus"] or os.cpu_count()
    affinity = affinity_cpus()
    cgroup = host_parse.cgroup_cpu_limit(proc_cgroup, read_text)
    return {
        "cpu_model": cpuinfo["cpu_model"],
        "cpu_vendor": cpuinfo["cpu_vendor"],
        "avx2": cpuinfo["avx2"],
        "avx512f": cpuinfo["avx512f"],
        "logical_cpus": logical,
        "affinity_cpus": affinity,
        "cgroup_cpus": cgroup,
        "usable_cpus": host_parse.usable_cpus(logical, affinity, cgroup),
        "core_max_mhz": mhz,
        "core_max_mhz_source": source,
    }


def memory_facts(proc_cgroup):
    facts = host_parse.meminfo_facts(read_text(PROC_MEMINFO))
    limit = host_parse.bytes_to_mb(host_parse.cgroup_memory_limit(proc_cgroup, read_text))
    facts["cgroup_memory_limit_mb"] = limit
    facts["usable_memory_mb"] = host_parse.usable_memory_mb(facts["memory_total_mb"], limit)
    return facts


def docker_facts(docker_host, timeout, gather):
    facts = {
        "answers": False,
        "version": None,
        "api_version": None,
        "data_root": None,
        "data_root_free_mb": None,
        "error": None,
        "published_ports": [],
        "stopped_ports": [],
        "managed_containers": [],
    }
    info = None
    if not gather:
        facts["error"] = "not asked (gather_docker is false)"
    else:
        client = DockerClient(docker_host, timeout)
        try:
            facts["version"], facts["api_version"] = host_parse.docker_version_facts(client.get_json("/version"))
            facts["answers"] = True
            info = client.get_json("/info")
            listed = client.get_json("/containers/json?all=1")
            facts["published_ports"] = host_parse.published_ports(listed)
            facts["managed_containers"] = sorted((c.get("Names") or ["/"])[0].lstrip("/") for c in listed or []
                                                 if str((c.get("Labels") or {}).get(host_parse.MANAGED_LABEL, "")).lower() == "true")
            stopped = [c.get("Id") for c in listed or [] if c.get("State") != "running"]
            facts["stopped_ports"] = host_parse.stopped_ports([client.get_json("/containers/%s/json" % cid) for cid in stopped])
        except DockerSocketError as error:
            facts["error"] = str(error)
    facts["data_root"] = host_parse.docker_data_root(info, read_text(DAEMON_JSON))
    facts["data_root_free_mb"] = free_mb(facts["data_root"])
    return facts


def os_facts():
    text = None
    for path in OS_RELEASE:
        text = read_text(path)
        if text is not None:
            break
    return host_look.os_facts(text, read_text(DEBIAN_VERSION), systemd_running())


def systemd_running():
    """What sd_booted(3) checks: systemd is the service manager."""
    return os.path.isdir("/run/systemd/system")


def package_facts(module, patterns):
    if not patterns:
        return {}
    status = read_text(DPKG_STATUS)
    if status is not None:
        return host_look.dpkg_packages(status, patterns)
    rpm = module.get_bin_path("rpm")
    if rpm:
        rc, out, _err = module.run_command([rpm, "-qa", "--qf", "%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n"])
        if rc == 0:
            return host_look.rpm_packages(out, patterns)
    return None


def file_facts(path, read=False):
    entry = stat_path(path)
    entry["size"] = None
    entry["sha256"] = None
    if entry["exists"] and not entry["isdir"]:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except (IOError, OSError) as error:
            entry["error"] = "%s: %s" % (path, getattr(error, "strerror", None) or error)
            return entry
        entry["size"] = len(data)
        entry["sha256"] = hashlib.sha256(data).hexdigest()
        if read and len(data) <= READ_LIMIT:
            entry["content"] = data.decode("utf-8", "replace")
    return entry


def service_facts(module, units):
    if not units:
        return {}
    systemctl = module.get_bin_path("systemctl")
    found = {}
    if systemctl and systemd_running():
        args = [systemctl, "show", "-p", "Id", "-p", "LoadState", "-p", "ActiveState", "-p", "UnitFileState"]
        rc, out, _err = module.run_command(args + ["%s.service" % u if "." not in u else u for u in units])
        if rc == 0:
            found = host_look.systemctl_units(out)
    missing = {"exists": False, "active": False, "enabled": False, "active_state": None, "unit_file_state": None}
    return dict((unit, found.get(unit, dict(missing))) for unit in units)


def group_facts(names):
    found = {}
    for name in names:
        try:
            found[name] = sorted(grp.getgrnam(name).gr_mem)
        except KeyError:
            found[name] = None
    return found


def user_facts(names):
    found = {}
    for name in names:
        try:
            pwd.getpwnam(name)
            found[name] = True
        except KeyError:
            found[name] = False
    return found


def gstreamer_facts(module):
    tool = module.get_bin_path("gst-inspect-1.0")
    if not tool:
        return None
    rc, out, _err = module.run_command([tool])
    return host_look.gst_elements(out) if rc == 0 else None


def gather(params, module=None):
    proc_cgroup = read_text(PROC_SELF_CGROUP) or ""
    facts = {"architecture": platform.machine() or None}
    facts.update(cpu_facts(proc_cgroup))
    facts.update(memory_facts(proc_cgroup))
    facts["ip_forward"] = host_parse.parse_ip_forward(read_text(PROC_IP_FORWARD))
    facts["listening_ports"] = host_parse.listening_ports(read_text(PROC_NET_TCP), read_text(PROC_NET_TCP6))
    facts["docker"] = docker_facts(params["docker_host"], params["docker_timeout"], params["gather_docker"])
    facts["addresses"] = host_parse.local_addresses(read_text(PROC_FIB_TRIE), read_text(PROC_IF_INET6))
    facts["paths"] = dict((path, stat_path(path)) for path in params["paths"])
    facts["resolved"] = dict((name, resolve(name)) for name in params["resolve"])
    facts["os"] = os_facts()
    facts["packages"] = package_facts(module, params.get("packages") or []) if module else {}
    reads = params.get("read") or []
    facts["files"] = dict((path, file_facts(path, read=path in reads)) for path in list(params.get("files") or []) + list(reads))
    facts["services"] = service_facts(module, params.get("services") or []) if module else {}
    facts["groups"] = group_facts(params.get("groups") or [])
    facts["users"] = user_facts(params.get("users") or [])
    facts["gstreamer_elements"] = gstreamer_facts(module) if module and params.get("gstreamer_elements") else None
    # What was asked, so that a role can tell whether this look covers what it compares.
    asked = ("packages", "files", "read", "services", "groups", "users", "gstreamer_elements", "speech_state", "images", "paths", "docker_host", "label")
    facts["query"] = dict((key, params.get(key)) for key in asked)
    facts["speech"] = None
    if params.get("speech_state"):
        client = DockerClient(params["docker_host"], max(params["docker_timeout"], 30))
        facts["speech"] = container_state.gather(client, images=params.get("images") or [], paths=params["paths"],
                                                 label=(params.get("label") or host_parse.MANAGED_LABEL).strip())
    return facts


def resolve(name):
    try:
        found = sorted(set(info[4][0] for info in socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM)))
        return {"addresses": found, "error": None}
    except (socket.gaierror, UnicodeError) as error:
        return {"addresses": [], "error": str(getattr(error, "strerror", None) or error)}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            docker_timeout=dict(type="int", default=5),
            gather_docker=dict(type="bool", default=True),
            paths=dict(type="list", elements="str", default=[]),
            resolve=dict(type="list", elements="str", default=[]),
            packages=dict(type="list", elements="str", default=[]),
            files=dict(type="list", elements="str", default=[]),
            read=dict(type="list", elements="str", default=[]),
            services=dict(type="list", elements="str", default=[]),
            groups=dict(type="list", elements="str", default=[]),
            users=dict(type="list", elements="str", default=[]),
            gstreamer_elements=dict(type="bool", default=False),
            query=dict(type="dict", default={}),
            speech_state=dict(type="bool", default=False),
            images=dict(type="list", elements="str", default=[]),
            label=dict(type="str", default="onprem.speech.managed"),
        ),
        supports_check_mode=True,
    )

    params, problems = host_look.merge_query(module.params, module.params["query"])
    try:
        parse_docker_host(params["docker_host"])
    except ValueError as error:
        problems.append(str(error))
    for option in ("paths", "files", "read"):
        relative = [path for path in params[option] if not path.startswith("/")]
        if relative:
            problems.append("%s: %s: give absolute host paths" % (option, ", ".join(relative)))
    empty = [ref for ref in params["images"] if not ref.strip()]
    if empty:
        problems.append("images: an empty image reference; give references like mcr.microsoft.com/<repository>:<tag>")
    if params["docker_timeout"] < 1:
        problems.append("docker_timeout %s: give a number of seconds, at least 1" % params["docker_timeout"])
    if problems:
        module.fail_json(msg="; ".join(problems))

    facts = gather(params, module)
    # The setup facts the roles read, so that no play needs setup; what is unknown is left to setup.
    ansible_facts = dict((key, value) for key, value in facts["os"].items() if value is not None)
    ansible_facts["architecture"] = facts["architecture"]
    ansible_facts["speech_host"] = facts
    module.exit_json(changed=False, ansible_facts=ansible_facts)


if __name__ == "__main__":
    main()
