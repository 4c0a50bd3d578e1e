"""host_facts main() with the target's files replaced by fixtures."""

import json
from pathlib import Path
from unittest import mock

import pytest

from ansible_collections.onprem.speech.plugins.module_utils.docker_socket import DockerSocketError
from ansible_collections.onprem.speech.plugins.modules import host_facts
from unit_helpers import patch_module_args  # noqa: E402  pylint: disable=import-error


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

FACT_KEYS = {
    "architecture", "cpu_model", "cpu_vendor", "avx2", "avx512f", "logical_cpus", "affinity_cpus", "cgroup_cpus",
    "usable_cpus", "core_max_mhz", "core_max_mhz_source", "memory_total_mb", "memory_available_mb",
    "cgroup_memory_limit_mb", "usable_memory_mb", "ip_forward", "listening_ports", "docker", "addresses", "paths", "resolved",
    "os", "packages", "files", "services", "groups", "users", "gstreamer_elements", "speech", "query",
}
OS_RELEASE = (FIXTURES / "look" / "os-release-debian12").read_text()
DEBIAN_OS = {"distribution": "Debian", "distribution_version": "12.8", "distribution_major_version": "12",
             "distribution_release": "bookworm", "os_family": "Debian", "service_mgr": "systemd"}
DOCKER_KEYS = {"answers", "version", "api_version", "data_root", "data_root_free_mb", "error", "published_ports", "stopped_ports",
               "managed_containers"}
# A stopped container that is not the collection's, holding a port with a restart policy: it takes the port when it starts.
STOPPED = {"Id": "5709a1", "Names": ["/old-tts"], "State": "exited", "Labels": {}}
STOPPED_INSPECT = {"Id": "5709a1", "Name": "/old-tts", "State": {"Running": False}, "Config": {"Labels": {}},
                   "HostConfig": {"RestartPolicy": {"Name": "always"}, "PortBindings": {"5000/tcp": [{"HostIp": "", "HostPort": "5001"}]}}}


FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.0.3.0/24 2 0 2
        |-- 10.0.3.0
           /24 link UNICAST
        |-- 10.0.3.7
           /32 host LOCAL
  +-- 127.0.0.0/8 2 0 2
     |-- 127.0.0.1
        /32 host LOCAL
"""
IF_INET6 = """00000000000000000000000000000001 01 80 10 80       lo
fe800000000000000000000000000001 02 40 20 80     eth0
"""


def target_files(cpuinfo, meminfo, cgroup, extra=None):
    """{path: text} as the module would read it on a target made of fixtures."""
    files = {
        "/proc/net/fib_trie": FIB_TRIE,
        "/proc/net/if_inet6": IF_INET6,
        "/proc/cpuinfo": (FIXTURES / "cpuinfo" / cpuinfo).read_text(),
        "/proc/meminfo": (FIXTURES / "meminfo" / meminfo).read_text(),
        "/proc/net/tcp": (FIXTURES / "proc_net" / "tcp").read_text(),
        "/proc/net/tcp6": (FIXTURES / "proc_net" / "tcp6").read_text(),
        "/proc/sys/net/ipv4/ip_forward": "1\n",
        "/etc/os-release": OS_RELEASE,
        "/etc/debian_version": "12.8\n",
    }
    root = FIXTURES / "cgroup" / cgroup
    for path in root.rglob("*"):
        if path.is_file():
            files["/" + str(path.relative_to(root))] = path.read_text()
    files.update(extra or {})
    return files


class FakeClient(object):
    """Stands in for DockerClient: answers from the captured engine answers, or fails like it."""

    answers = {
        "/version": json.loads((FIXTURES / "docker" / "version.json").read_text()),
        "/info": json.loads((FIXTURES / "docker" / "info.json").read_text()),
        "/containers/json?all=1": json.loads((FIXTURES / "docker" / "containers.json").read_text()) + [STOPPED],
        "/containers/5709a1/json": STOPPED_INSPECT,
    }
    failure = None
    calls = []

    def __init__(self, docker_host, timeout):
        FakeClient.calls.append((docker_host, timeout))

    def get_json(self, path):
        if FakeClient.failure:
            raise DockerSocketError(FakeClient.failure)
        return FakeClient.answers[path]


@pytest.fixture(autouse=True)
def reset_fake():
    FakeClient.failure = None
    FakeClient.calls = []


def run(args, files, cpufreq=None, affinity=None, free_mb=51200, machine="x86_64", client=FakeClient):
    """main() on a fake target; returns (exit code, parsed JSON result)."""
    free_calls = []

    def fake_glob(pattern):
        assert pattern == host_facts.CPUFREQ_GLOB
        return sorted(cpufreq or {})

    def fake_free(path):
        free_calls.append(path)
        return free_mb

    reads = dict(files)
    reads.update(cpufreq or {})
    with patch_module_args(args), \
            mock.patch.object(host_facts, "read_text", side_effect=reads.get), \
            mock.patch.object(host_facts.glob, "glob", side_effect=fake_glob), \
            mock.patch.object(host_facts, "affinity_cpus", return_value=affinity), \
            mock.patch.object(host_facts, "free_mb", side_effect=fake_free), \
            mock.patch.object(host_facts.platform, "machine", return_value=machine), \
            mock.patch.object(host_facts, "systemd_running", return_value=True), \
            mock.patch.object(host_facts, "DockerClient", client):
        with pytest.raises(SystemExit) as exit_info:
            host_facts.main()
    return exit_info.value.code, free_calls


def result(capsys):
    return json.loads(capsys.readouterr().out)


def test_intel_host_in_a_limited_container(capsys):
    files = target_files("intel-xeon-e5-2650v3-3cpu", "veos-2g", "v1-docker-private")
    code, free_calls = run({}, files, affinity=3)
    out = result(capsys)
    assert code == 0
    assert out["changed"] is False
    facts = out["ansible_facts"]["speech_host"]
    assert set(facts) == FACT_KEYS
    assert facts == {
        "architecture": "x86_64",
        "cpu_model": "Intel(R) Xeon(R) CPU E5-2650 v3 @ 2.30GHz",
        "cpu_vendor": "GenuineIntel",
        "avx2": True,
        "avx512f": False,
        "logical_cpus": 3,
        "affinity_cpus": 3,
        "cgroup_cpus": 1.5,
        "usable_cpus": 1.5,
        "core_max_mhz": 2300.0,
        "core_max_mhz_source": "cpuinfo_model_name",
        "memory_total_mb": 1957,
        "memory_available_mb": 899,
        "cgroup_memory_limit_mb": 512,
        "usable_memory_mb": 512,
        "ip_forward": True,
        "listening_ports": [2024, 15000, 18080, 18081, 18443],
        "docker": {
            "answers": True,
            "version": "20.10.24+dfsg1",
            "api_version": "1.41",
            "data_root": "/var/lib/docker",
            "data_root_free_mb": 51200,
            "error": None,
            "published_ports": [
                {"port": 15000, "container": "hostfacts-fixture-stt", "managed": True},
                {"port": 18081, "container": "hostfacts-fixture-other", "managed": False},
            ],
            "stopped_ports": [{"port": 5001, "container": "old-tts", "managed": False, "restart_policy": "always"}],
            "managed_containers": ["hostfacts-fixture-stt"],
        },
        "addresses": ["10.0.3.7", "127.0.0.1", "::1", "fe80::1"],
        "paths": {},
        "resolved": {},
        "os": DEBIAN_OS,
        "packages": {},
        "files": {},
        "services": {},
        "groups": {},
        "users": {},
        "gstreamer_elements": None,
        "speech": None,
        "query": {"packages": [], "files": [], "read": [], "services": [], "groups": [], "users": [], "gstreamer_elements": False,
                  "speech_state": False, "images": [], "paths": [], "docker_host": "unix:///var/run/docker.sock",
                  "label": "onprem.speech.managed"},
    }
    # The setup facts the roles read, so no play needs setup.
    assert dict((k, out["ansible_facts"][k]) for k in DEBIAN_OS) == DEBIAN_OS
    assert out["ansible_facts"]["architecture"] == "x86_64"
    assert FakeClient.calls == [("unix:///var/run/docker.sock", 5)]
    assert free_calls == ["/var/lib/docker"]


def test_cpufreq_is_preferred(capsys):
    files = target_files("amd-epyc-9754-host-4cpu", "kvm-24g-this-machine", "v1-host-unlimited")
    cpufreq = {
        "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq": "3100000\n",
        "/sys/devices/system/cpu/cpu1/cpufreq/cpuinfo_max_freq": "2250000\n",
    }
    run({}, files, cpufreq=cpufreq, affinity=4)
    facts = result(capsys)["ansible_facts"]["speech_host"]
    assert (facts["core_max_mhz"], facts["core_max_mhz_source"]) == (2250.0, "cpufreq")
    assert facts["avx512f"] is True
    assert facts["cgroup_cpus"] is None
    assert facts["usable_cpus"] == 4.0
    assert (facts["memory_total_mb"], facts["cgroup_memory_limit_mb"], facts["usable_memory_mb"]) == (24105, None, 24105)


def test_kvm64_guest_without_avx2(capsys):
    files = target_files("kvm-qemu-virtual-cpu-2cpu", "veos-2g", "v2-systemd-slice-limit")
    run({}, files, affinity=None)
    facts = result(capsys)["ansible_facts"]["speech_host"]
    assert facts["avx2"] is False
    assert facts["cpu_model"] == "QEMU Virtual CPU version 1.1.2"
    assert (facts["core_max_mhz"], facts["core_max_mhz_source"]) == (3392.292, "cpuinfo_mhz")
    assert (facts["logical_cpus"], facts["affinity_cpus"], facts["cgroup_cpus"], facts["usable_cpus"]) == (2, None, 2.0, 2.0)
    assert facts["cgroup_memory_limit_mb"] == 4096
    assert facts["usable_memory_mb"] == 1957


def test_aarch64_without_docker(capsys, tmp_path):
    files = target_files("aarch64-cortex-a53-4cpu", "veos-2g", "v1-docker-cgroupns-host-bind",
                         extra={"/etc/docker/daemon.json": '{"data-root": "/srv/docker"}'})
    # The real client: its socket does not exist.
    socket_path = str(tmp_path / "docker.sock")
    code, free_calls = run({"docker_host": "unix://" + socket_path, "docker_timeout": 2}, files, affinity=4,
                           machine="aarch64", client=host_facts.DockerClient)
    assert code == 0
    facts = result(capsys)["ansible_facts"]["speech_host"]
    assert facts["architecture"] == "aarch64"
    assert facts["cpu_model"] == "ARM Cortex-A53"
    assert facts["cpu_vendor"] is None
    assert (facts["avx2"], facts["avx512f"]) == (False, False)
    assert (facts["core_max_mhz"], facts["core_max_mhz_source"]) == (None, None)
    assert (facts["cgroup_cpus"], facts["usable_cpus"], facts["cgroup_memory_limit_mb"]) == (1.5, 1.5, 512)
    assert facts["docker"] == {
        "answers": False,
        "version": None,
        "api_version": None,
        "data_root": "/srv/docker",
        "data_root_free_mb": 51200,
        "error": "socket %s not found" % socket_path,
        "published_ports": [],
        "stopped_ports": [],
        "managed_containers": [],
    }
    assert free_calls == ["/srv/docker"]


def test_engine_that_stops_answering_midway(capsys):
    class HalfClient(FakeClient):
        def get_json(self, path):
            if path == "/version":
                return FakeClient.answers[path]
            raise DockerSocketError("no answer from socket /var/run/docker.sock within 5s")

    files = target_files("kvm-amd-epyc-2cpu-this-machine", "kvm-24g-this-machine", "v1-host-unlimited")
    run({}, files, affinity=2, client=HalfClient)
    docker = result(capsys)["ansible_facts"]["speech_host"]["docker"]
    assert docker["answers"] is True
    assert docker["version"] == "20.10.24+dfsg1"
    assert docker["error"] == "no answer from socket /var/run/docker.sock within 5s"
    assert docker["data_root"] == "/var/lib/docker"
    assert docker["published_ports"] == []


def test_gather_docker_false_asks_nothing(capsys):
    files = target_files("kvm-amd-epyc-2cpu-this-machine", "kvm-24g-this-machine", "v1-host-unlimited")
    run({"gather_docker": False}, files, affinity=2)
    facts = result(capsys)["ansible_facts"]["speech_host"]
    assert FakeClient.calls == []
    assert set(facts["docker"]) == DOCKER_KEYS
    assert facts["docker"]["answers"] is False
    assert facts["docker"]["error"] == "not asked (gather_docker is false)"
    assert facts["docker"]["data_root"] == "/var/lib/docker"
    assert (facts["avx2"], facts["logical_cpus"], facts["core_max_mhz"]) == (True, 2, 2596.146)


def test_nothing_readable_gives_nulls_not_failure(capsys):
    FakeClient.failure = "socket /var/run/docker.sock not found"
    with mock.patch.object(host_facts.os, "cpu_count", return_value=7):
        code = run({}, {}, affinity=None, free_mb=None)[0]
    assert code == 0
    out = result(capsys)
    facts = out["ansible_facts"]["speech_host"]
    assert set(facts) == FACT_KEYS
    assert facts["logical_cpus"] == 7
    assert facts["usable_cpus"] == 7.0
    for key in ("cpu_model", "cpu_vendor", "affinity_cpus", "cgroup_cpus", "core_max_mhz", "core_max_mhz_source",
                "memory_total_mb", "memory_available_mb", "cgroup_memory_limit_mb", "usable_memory_mb", "ip_forward"):
        assert facts[key] is None, key
    assert (facts["avx2"], facts["avx512f"], facts["listening_ports"]) == (False, False, [])
    assert facts["docker"]["error"] == "socket /var/run/docker.sock not found"
    assert facts["docker"]["data_root_free_mb"] is None


def test_check_mode_gathers_too(capsys):
    files = target_files("intel-xeon-e5-2650v3-3cpu", "veos-2g", "v2-docker-private")
    code = run({"_ansible_check_mode": True}, files, affinity=3)[0]
    out = result(capsys)
    assert code == 0
    assert out["changed"] is False
    assert out["ansible_facts"]["speech_host"]["cgroup_cpus"] == 1.5


@pytest.mark.parametrize("args, words", [
    ({"docker_host": "ssh://admin@host"}, ["docker_host 'ssh://admin@host'", "tcp://host:port"]),
    ({"docker_timeout": 0}, ["docker_timeout 0: give a number of seconds, at least 1"]),
    ({"docker_host": "https://h:2376", "docker_timeout": -1}, ["TLS is not supported", "docker_timeout -1"]),
])
def test_bad_arguments_fail_in_one_message(capsys, args, words):
    code = run(args, {})[0]
    out = result(capsys)
    assert code == 1
    assert out["failed"] is True
    for word in words:
        assert word in out["msg"]
    assert FakeClient.calls == []


def test_wrong_types_are_refused(capsys):
    code = run({"docker_timeout": "soon"}, {})[0]
    out = result(capsys)
    assert code == 1
    assert "docker_timeout" in out["msg"]


def test_unknown_option_is_refused(capsys):
    code = run({"docker_socket": "/var/run/docker.sock"}, {})[0]
    assert code == 1
    assert "docker_socket" in result(capsys)["msg"]


def test_read_text_and_free_mb_on_real_files(tmp_path):
    sample = tmp_path / "ip_forward"
    sample.write_text("1\n")
    assert host_facts.read_text(str(sample)) == "1\n"
    assert host_facts.read_text(str(tmp_path / "missing")) is None
    assert host_facts.read_text(str(tmp_path)) is None  # a directory
    free = host_facts.free_mb(str(tmp_path / "not" / "yet" / "docker"))
    assert isinstance(free, int) and free >= 0
    assert free == host_facts.free_mb(str(tmp_path))


def test_affinity_cpus_counts_the_allowed_set():
    with mock.patch.object(host_facts.os, "sched_getaffinity", return_value={0, 2, 3}, create=True):
        assert host_facts.affinity_cpus() == 3


def test_paths_and_names_are_looked_at(capsys, tmp_path):
    files = target_files("kvm-amd-epyc-2cpu-this-machine", "kvm-24g-this-machine", "v1-host-unlimited")
    sticky = tmp_path / "shared"
    sticky.mkdir()
    sticky.chmod(0o1777)
    run({"paths": [str(sticky), str(tmp_path / "absent")], "resolve": ["localhost", "no-such-host.invalid"]}, files, affinity=2)
    facts = result(capsys)["ansible_facts"]["speech_host"]
    assert facts["paths"][str(sticky)]["mode"] == "1777" and facts["paths"][str(sticky)]["isdir"]
    assert facts["paths"][str(tmp_path / "absent")]["exists"] is False
    assert "127.0.0.1" in facts["resolved"]["localhost"]["addresses"]
    assert facts["resolved"]["no-such-host.invalid"]["addresses"] == [] and facts["resolved"]["no-such-host.invalid"]["error"]


def test_the_one_look_reports_what_the_roles_compare(capsys, tmp_path):
    """Packages, files (with content where asked), services, groups, GStreamer elements and the speech state, in one call."""
    look = FIXTURES / "look"
    files = target_files("kvm-amd-epyc-2cpu-this-machine", "kvm-24g-this-machine", "v1-host-unlimited",
                         {host_facts.DPKG_STATUS: (look / "dpkg-status").read_text()})
    daemon = tmp_path / "daemon.json"
    daemon.write_text('{"log-driver": "journald"}\n')
    daemon.chmod(0o644)
    source = tmp_path / "docker.sources"
    source.write_text("Types: deb\nURIs: https://download.docker.com/linux/debian\n")
    commands = []

    def run_command(self, args, **_kw):
        commands.append(args[0].rsplit("/", 1)[-1])
        if args[0].endswith("systemctl"):
            return 0, (look / "systemctl-show").read_text(), ""
        return 0, (look / "gst-inspect").read_text(), ""

    gathered = {}

    def fake_gather(client, images, paths, label):
        gathered.update(images=images, paths=paths, label=label)
        return {"engine": {"answers": True}, "containers": {}, "images": {}, "paths": {}}

    args = {"packages": ["docker*", "containerd*"], "files": [str(daemon), str(tmp_path / "absent.crt")], "read": [str(source)],
            "services": ["docker", "ssh"], "groups": ["docker", "nosuchgroup"], "users": ["deploy", "nosuchuser"], "gstreamer_elements": True,
            "speech_state": True, "images": ["mcr.microsoft.com/x:1"], "paths": ["/var/lib/onprem-speech"]}
    group = mock.Mock(gr_mem=["ops", "deploy"])
    with mock.patch.object(host_facts.AnsibleModule, "run_command", run_command), \
            mock.patch.object(host_facts.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name), \
            mock.patch.object(host_facts.grp, "getgrnam", side_effect=lambda n: group if n == "docker" else {}[n]), \
            mock.patch.object(host_facts.pwd, "getpwnam", side_effect=lambda n: object() if n == "deploy" else {}[n]), \
            mock.patch.object(host_facts.container_state, "gather", side_effect=fake_gather):
        code, _free = run(args, files, affinity=2)
    facts = result(capsys)["ansible_facts"]["speech_host"]
    assert code == 0
    assert facts["packages"] == {"docker.io": "20.10.24+dfsg1-1+deb12u1+b1"}
    entry = facts["files"][str(daemon)]
    assert (entry["exists"], entry["mode"], entry["size"], "content" in entry) == (True, "0644", 27, False)
    assert entry["sha256"] == __import__("hashlib").sha256(daemon.read_bytes()).hexdigest()
    assert facts["files"][str(tmp_path / "absent.crt")]["exists"] is False
    assert facts["files"][str(source)]["content"].startswith("Types: deb")
    assert facts["services"]["docker"]["exists"] is False and facts["services"]["ssh"]["active"] is True
    assert facts["groups"] == {"docker": ["deploy", "ops"], "nosuchgroup": None}
    # Whether each account exists: the docker role adds accounts to its group, and never creates one.
    assert facts["users"] == {"deploy": True, "nosuchuser": False}
    assert "mpg123audiodec" in facts["gstreamer_elements"]
    assert facts["speech"]["engine"]["answers"] is True
    assert gathered == {"images": ["mcr.microsoft.com/x:1"], "paths": ["/var/lib/onprem-speech"], "label": "onprem.speech.managed"}
    # One systemctl for every unit and one gst-inspect-1.0: the look costs one module call, not one per concern.
    assert sorted(commands) == ["gst-inspect-1.0", "systemctl"]


def test_a_query_adds_to_the_options_of_its_keys(capsys, tmp_path):
    """site.yml's preflight gives the roles' look queries merged, as one option; the look echoes what it was asked."""
    files = target_files("kvm-amd-epyc-2cpu-this-machine", "kvm-24g-this-machine", "v1-host-unlimited")
    daemon = tmp_path / "daemon.json"
    daemon.write_text("{}\n")
    query = {"packages": ["docker*", "containerd*"], "files": [str(daemon)], "read": [], "services": [], "groups": ["docker"],
             "gstreamer_elements": False}
    with mock.patch.object(host_facts.grp, "getgrnam", side_effect=KeyError):
        code = run({"packages": ["docker*", "runc"], "query": query}, files, affinity=2)[0]
    facts = result(capsys)["ansible_facts"]["speech_host"]
    assert code == 0
    assert facts["query"]["packages"] == ["docker*", "runc", "containerd*"]
    assert facts["query"]["files"] == [str(daemon)] and facts["files"][str(daemon)]["exists"] is True
    assert facts["query"]["groups"] == ["docker"] and facts["groups"] == {"docker": None}
    assert facts["query"]["gstreamer_elements"] is False and facts["gstreamer_elements"] is None


def test_a_query_with_an_unknown_key_or_a_wrong_type_fails_naming_each(capsys):
    code = run({"query": {"packages": "docker*", "gstreamer_elements": "yes", "speech": True, "files": ["etc/x"]}}, {})[0]
    out = result(capsys)
    assert code == 1
    for words in ("query.packages: give a list of strings", "query.gstreamer_elements: give true or false",
                  "query.speech: not a key of a look query", "files: etc/x: give absolute host paths"):
        assert words in out["msg"]
    assert FakeClient.calls == []
