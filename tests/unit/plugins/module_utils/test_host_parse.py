"""host_parse against real samples (see tests/unit/fixtures/README.md)."""

import json
import os
from pathlib import Path

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import host_parse as hp

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fixture(*parts):
    return (FIXTURES.joinpath(*parts)).read_text()


def scenario_reader(name):
    """A read_file callable over one cgroup scenario tree, like reading the real paths."""
    root = FIXTURES / "cgroup" / name

    def read(path):
        target = root / path.lstrip("/")
        return target.read_text() if target.is_file() else None

    return read


# ------------------------------------------------------------ /proc/cpuinfo

CPUINFO_EXPECTED = {
    "intel-xeon-e5-2650v3-3cpu": {
        "logical_cpus": 3,
        "cpu_model": "Intel(R) Xeon(R) CPU E5-2650 v3 @ 2.30GHz",
        "cpu_vendor": "GenuineIntel",
        "avx2": True,
        "avx512f": False,
        "model_name_mhz": 2300.0,
        "cpuinfo_mhz": 2688.209,
    },
    "amd-epyc-9754-host-4cpu": {
        "logical_cpus": 4,
        "cpu_model": "AMD EPYC 9754 128-Core Processor",
        "cpu_vendor": "AuthenticAMD",
        "avx2": True,
        "avx512f": True,
        "model_name_mhz": None,
        "cpuinfo_mhz": 2250.0,
    },
    "kvm-amd-epyc-2cpu-this-machine": {
        "logical_cpus": 2,
        "cpu_model": "AMD EPYC",
        "cpu_vendor": "AuthenticAMD",
        "avx2": True,
        "avx512f": True,
        "model_name_mhz": None,
        "cpuinfo_mhz": 2596.146,
    },
    "kvm-qemu-virtual-cpu-2cpu": {
        "logical_cpus": 2,
        "cpu_model": "QEMU Virtual CPU version 1.1.2",
        "cpu_vendor": "GenuineIntel",
        "avx2": False,
        "avx512f": False,
        "model_name_mhz": None,
        "cpuinfo_mhz": 3392.292,
    },
    "kvm-qemu-virtual-cpu-zero-mhz-1cpu": {
        "logical_cpus": 1,
        "cpu_model": "QEMU Virtual CPU version 2.5+",
        "cpu_vendor": "GenuineIntel",
        "avx2": False,
        "avx512f": False,
        "model_name_mhz": None,
        # "cpu MHz : 0.000" tells nothing: it is not a clock of 0.
        "cpuinfo_mhz": None,
    },
    "aarch64-cortex-a53-4cpu": {
        "logical_cpus": 4,
        # No "model name": named from implementer 0x41 / part 0xd03, not from
        # the generic "Processor : AArch64 Processor rev 4 (aarch64)".
        "cpu_model": "ARM Cortex-A53",
        "cpu_vendor": None,
        "avx2": False,
        "avx512f": False,
        "model_name_mhz": None,
        "cpuinfo_mhz": None,
    },
}

CORE_MHZ_EXPECTED = {
    "intel-xeon-e5-2650v3-3cpu": (2300.0, "cpuinfo_model_name"),
    "amd-epyc-9754-host-4cpu": (2250.0, "cpuinfo_mhz"),
    "kvm-amd-epyc-2cpu-this-machine": (2596.146, "cpuinfo_mhz"),
    "kvm-qemu-virtual-cpu-2cpu": (3392.292, "cpuinfo_mhz"),
    "kvm-qemu-virtual-cpu-zero-mhz-1cpu": (None, None),
    "aarch64-cortex-a53-4cpu": (None, None),
}


@pytest.mark.parametrize("name", sorted(CPUINFO_EXPECTED))
def test_cpuinfo_facts_of_real_samples(name):
    assert hp.cpuinfo_facts(fixture("cpuinfo", name)) == CPUINFO_EXPECTED[name]


@pytest.mark.parametrize("name", sorted(CORE_MHZ_EXPECTED))
def test_core_max_mhz_without_cpufreq(name):
    cpuinfo = hp.cpuinfo_facts(fixture("cpuinfo", name))
    assert hp.core_max_mhz([], cpuinfo) == CORE_MHZ_EXPECTED[name]


def test_cpufreq_wins_and_takes_the_slowest_core():
    cpuinfo = hp.cpuinfo_facts(fixture("cpuinfo", "intel-xeon-e5-2650v3-3cpu"))
    # cpuinfo_max_freq is in kHz; an unreadable core (None) is skipped.
    assert hp.core_max_mhz(["3000000\n", "2600000\n", None], cpuinfo) == (2600.0, "cpufreq")


def test_cpufreq_that_tells_nothing_falls_through():
    cpuinfo = hp.cpuinfo_facts(fixture("cpuinfo", "aarch64-cortex-a53-4cpu"))
    assert hp.cpufreq_max_mhz([None, "", "0\n", "junk"]) is None
    assert hp.core_max_mhz([None, "0\n"], cpuinfo) == (None, None)
    assert hp.core_max_mhz(["1152000\n", "1152000\n"], cpuinfo) == (1152.0, "cpufreq")


def test_split_cpuinfo_keeps_processors_apart_without_blank_lines():
    # The aarch64 sample has no blank line between processors.
    processors, other = hp.split_cpuinfo(fixture("cpuinfo", "aarch64-cortex-a53-4cpu"))
    assert [p["processor"] for p in processors] == ["0", "1", "2", "3"]
    assert processors[2]["CPU part"] == "0xd03"
    assert processors[0]["Processor"] == "AArch64 Processor rev 4 (aarch64)"
    assert other == {}


def test_flags_must_be_on_every_core():
    text = "processor\t: 0\nflags\t\t: fpu avx avx2\n\nprocessor\t: 1\nflags\t\t: fpu avx\n"
    facts = hp.cpuinfo_facts(text)
    assert facts["avx2"] is False
    assert facts["logical_cpus"] == 2


def test_flags_are_words_not_substrings():
    facts = hp.cpuinfo_facts("processor\t: 0\nflags\t\t: fpu avx avx512fp16 avx2x\n")
    assert facts["avx2"] is False
    assert facts["avx512f"] is False


def test_model_name_clock_forms():
    assert hp.model_name_mhz("Intel(R) Xeon(R) Platinum 8269CY CPU @ 2.50GHz") == 2500.0
    assert hp.model_name_mhz("Intel(R) Xeon(R) CPU E5-2690 v4 @ 2.60GHz") == 2600.0
    assert hp.model_name_mhz("Pentium(R) 4 CPU @ 2800MHz") == 2800.0
    assert hp.model_name_mhz("AMD EPYC 7502P 32-Core Processor") is None
    assert hp.model_name_mhz(None) is None


def test_arm_models():
    assert hp.arm_model("0x41", "0xd0c") == "ARM Neoverse-N1"
    assert hp.arm_model("0x41", "0xD40") == "ARM Neoverse-V1"
    assert hp.arm_model("0x41", "0xfff") is None
    assert hp.arm_model("0x99", "0xd0c") is None
    assert hp.arm_model(None, None) is None


def test_empty_cpuinfo():
    assert hp.cpuinfo_facts(None) == {
        "logical_cpus": None,
        "cpu_model": None,
        "cpu_vendor": None,
        "avx2": False,
        "avx512f": False,
        "model_name_mhz": None,
        "cpuinfo_mhz": None,
    }


# ------------------------------------------------------------ /proc/meminfo

def test_meminfo_this_machine():
    assert hp.meminfo_facts(fixture("meminfo", "kvm-24g-this-machine")) == {"memory_total_mb": 24105, "memory_available_mb": 23632}


def test_meminfo_small_host():
    values = hp.parse_meminfo(fixture("meminfo", "veos-2g"))
    assert values["MemTotal"] == 2004568
    assert values["HugePages_Total"] == 0
    assert hp.meminfo_facts(fixture("meminfo", "veos-2g")) == {"memory_total_mb": 1957, "memory_available_mb": 899}


def test_meminfo_without_memavailable_says_so():
    assert hp.meminfo_facts("MemTotal:        2004568 kB\nMemFree:  58788 kB\n") == {"memory_total_mb": 1957, "memory_available_mb": None}
    assert hp.meminfo_facts(None) == {"memory_total_mb": None, "memory_available_mb": None}


# ------------------------------------------------------------ cgroups

CGROUP_EXPECTED = {
    # scenario: (cpus, memory bytes)
    "v1-host-unlimited": (None, None),
    "v1-docker-private": (1.5, 512 * 1024 * 1024),
    "v1-docker-cgroupns-host": (1.5, 512 * 1024 * 1024),
    "v1-docker-cgroupns-host-bind": (1.5, 512 * 1024 * 1024),
    "v1-systemd-cpu-cpuacct-ancestor": (4.0, 8192 * 1024 * 1024),
    "v2-docker-private": (1.5, 512 * 1024 * 1024),
    "v2-systemd-slice-limit": (2.0, 4096 * 1024 * 1024),
}


@pytest.mark.parametrize("name", sorted(CGROUP_EXPECTED))
def test_cgroup_limits(name):
    read = scenario_reader(name)
    proc = read("/proc/self/cgroup")
    assert proc
    assert hp.cgroup_cpu_limit(proc, read) == CGROUP_EXPECTED[name][0]
    assert hp.cgroup_memory_limit(proc, read) == CGROUP_EXPECTED[name][1]


def test_cgroupns_host_without_mount_falls_back_to_the_mount_root():
    # /proc/self/cgroup names /docker/<id>, but only the mount root exists inside.
    read = scenario_reader("v1-docker-cgroupns-host")
    proc = read("/proc/self/cgroup")
    assert "1:cpu:/docker/87d3285677175ef4472bc10a0f7648202a105291f223be5d05ed1d08537d57c2" in proc
    assert read("/sys/fs/cgroup/cpu/docker/87d3285677175ef4472bc10a0f7648202a105291f223be5d05ed1d08537d57c2/cpu.cfs_quota_us") is None
    assert hp.cgroup_cpu_limit(proc, read) == 1.5


def test_cgroup_limit_is_the_minimum_over_ancestors():
    files = {
        "/sys/fs/cgroup/cpu/a/b/cpu.cfs_quota_us": "300000",
        "/sys/fs/cgroup/cpu/a/b/cpu.cfs_period_us": "100000",
        "/sys/fs/cgroup/cpu/a/cpu.cfs_quota_us": "50000",
        "/sys/fs/cgroup/cpu/a/cpu.cfs_period_us": "100000",
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1",
        "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000",
    }
    assert hp.cgroup_cpu_limit("1:cpu:/a/b\n", files.get) == 0.5


def test_cgroup_v1_unlimited_memory_numbers():
    assert hp.memory_limit_bytes("9223372036854771712\n") is None
    assert hp.memory_limit_bytes("max\n") is None
    assert hp.memory_limit_bytes(str(2 ** 60)) is None
    assert hp.memory_limit_bytes("536870912\n") == 536870912
    assert hp.memory_limit_bytes(None) is None
    assert hp.memory_limit_bytes("junk") is None


def test_cpu_limit_file_forms():
    assert hp.cpu_limit_v1("-1\n", "100000\n") is None
    assert hp.cpu_limit_v1("150000\n", "100000\n") == 1.5
    assert hp.cpu_limit_v1("150000", None) is None
    assert hp.cpu_limit_v2("max 100000\n") is None
    assert hp.cpu_limit_v2("250000 100000\n") == 2.5
    assert hp.cpu_limit_v2("") is None


def test_parse_proc_cgroup():
    entries = hp.parse_proc_cgroup(fixture("cgroup", "v1-systemd-cpu-cpuacct-ancestor", "proc", "self", "cgroup"))
    assert entries[1] == (4, ["cpu", "cpuacct"], "/speech.slice/speech-stt.service")
    assert hp.parse_proc_cgroup("0::/\n") == [(0, [], "/")]
    # A path outside the namespace (podman shows "/../..") stays inside the tree.
    assert hp.parse_proc_cgroup("0::/../..\n") == [(0, [], "/")]
    assert hp.parse_proc_cgroup("garbage\n\n") == []


def test_no_cgroup_file_means_no_limit():
    assert hp.cgroup_cpu_limit("", lambda path: None) is None
    assert hp.cgroup_memory_limit("", lambda path: None) is None


def test_usable_cpus_and_memory():
    assert hp.usable_cpus(8, 8, 1.5) == 1.5
    assert hp.usable_cpus(8, 4, None) == 4.0
    assert hp.usable_cpus(2, None, None) == 2.0
    assert hp.usable_cpus(None, None, None) is None
    assert hp.usable_memory_mb(24105, 512) == 512
    assert hp.usable_memory_mb(24105, None) == 24105
    assert hp.usable_memory_mb(None, None) is None
    assert hp.bytes_to_mb(536870912) == 512
    assert hp.bytes_to_mb(None) is None


# ------------------------------------------------------------ /proc/sys, /proc/net

def test_ip_forward():
    assert hp.parse_ip_forward("1\n") is True
    assert hp.parse_ip_forward("0\n") is False
    assert hp.parse_ip_forward(None) is None


def test_listening_ports_from_real_tcp_and_tcp6():
    tcp = fixture("proc_net", "tcp")
    tcp6 = fixture("proc_net", "tcp6")
    assert hp.proc_net_listen_ports(tcp) == {2024, 15000, 18080, 18081}
    assert hp.proc_net_listen_ports(tcp6) == {15000, 18081, 18443}
    # The ESTABLISHED rows (client ports 35852, 39544) are not listeners.
    assert hp.listening_ports(tcp, tcp6) == [2024, 15000, 18080, 18081, 18443]
    assert hp.listening_ports(None, None) == []


# ------------------------------------------------------------ Docker

def test_published_ports_from_real_containers_json():
    containers = json.loads(fixture("docker", "containers.json"))
    assert hp.published_ports(containers) == [
        {"port": 15000, "container": "hostfacts-fixture-stt", "managed": True},
        {"port": 18081, "container": "hostfacts-fixture-other", "managed": False},
    ]


def test_published_ports_skips_stopped_and_unpublished():
    containers = [
        {"Names": ["/gone"], "State": "exited", "Ports": [{"PublicPort": 5000, "Type": "tcp"}], "Labels": {}},
        {"Names": ["/internal"], "State": "running", "Ports": [{"PrivatePort": 5000, "Type": "tcp"}], "Labels": None},
        {"Names": ["/b"], "State": "running", "Ports": [{"PublicPort": 5001, "Type": "tcp"}], "Labels": {"onprem.speech.managed": "false"}},
        {"Names": ["/a"], "State": "running", "Ports": [{"PublicPort": 5001, "Type": "tcp"}], "Labels": {"onprem.speech.managed": "true"}},
    ]
    assert hp.published_ports(containers) == [
        {"port": 5001, "container": "a", "managed": True},
        {"port": 5001, "container": "b", "managed": False},
    ]
    assert hp.published_ports(None) == []


def test_a_paused_or_restarting_container_holds_its_port():
    """A paused container of the collection's was reported as "a process outside Docker" holding its port, and the host
    refused: Docker keeps a paused (or restarting) container's bindings."""
    containers = [
        {"Names": ["/tts"], "State": "paused", "Ports": [{"PublicPort": 5003, "Type": "tcp"}], "Labels": {"onprem.speech.managed": "true"}},
        {"Names": ["/stt"], "State": "restarting", "Ports": [{"PublicPort": 5000, "Type": "tcp"}], "Labels": {"onprem.speech.managed": "true"}},
        {"Names": ["/dead"], "State": "dead", "Ports": [{"PublicPort": 5009, "Type": "tcp"}], "Labels": {}},
    ]
    assert hp.published_ports(containers) == [
        {"port": 5000, "container": "stt", "managed": True},
        {"port": 5003, "container": "tts", "managed": True},
    ]


def test_docker_version_and_data_root():
    version = json.loads(fixture("docker", "version.json"))
    info = json.loads(fixture("docker", "info.json"))
    assert hp.docker_version_facts(version) == ("20.10.24+dfsg1", "1.41")
    assert hp.docker_version_facts(None) == (None, None)
    assert hp.docker_data_root(info, '{"data-root": "/srv/docker"}') == "/var/lib/docker"
    assert hp.docker_data_root(None, '{"data-root": "/srv/docker"}') == "/srv/docker"
    assert hp.docker_data_root(None, '{"log-driver": "local"}') == "/var/lib/docker"
    assert hp.docker_data_root(None, "{not json") == "/var/lib/docker"
    assert hp.docker_data_root(None, None) == "/var/lib/docker"


def test_nearest_existing_path(tmp_path):
    existing = {str(tmp_path), "/"}
    assert hp.nearest_existing_path(str(tmp_path / "docker" / "data"), existing.__contains__) == str(tmp_path)
    assert hp.nearest_existing_path(str(tmp_path), os.path.exists) == str(tmp_path)
    assert hp.nearest_existing_path("/no/such/dir", lambda path: False) == "/"
