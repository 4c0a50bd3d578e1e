import json

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import container_ops
from ansible_collections.onprem.speech.plugins.plugin_utils import plan as p
from ansible_collections.onprem.speech.plugins.module_utils import speech_kinds as sk

KEY = "0123456789abcdef0123456789abcdef"
ENDPOINT = "https://speechdemo.cognitiveservices.azure.com/"


def plan_of(containers, **kw):
    return p.normalize_plan(containers, **kw)


def one(problems, *fragments):
    """Exactly one problem mentions every fragment."""
    hits = [m for m in problems if all(f in m for f in fragments)]
    assert len(hits) == 1, (fragments, problems)
    return hits[0]


def test_defaults_come_from_the_table():
    result = plan_of([{"name": "stt1", "kind": "stt", "host_port": 5000}, {"name": "tts", "kind": "ntts", "host_port": 5001},
                      {"name": "lid", "kind": "lid", "host_port": 5002}])
    assert result["problems"] == []
    stt, tts, lid = result["plan"]
    assert stt["image"] == "mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us"
    assert stt["cpus"] == sk.KINDS["stt"]["recommended_cpus"] and stt["memory"] == "8g"
    assert stt["model_memory_mb"] == 4096
    assert stt["published_port"] == "0.0.0.0:5000:5000"
    assert tts["image"].endswith("neural-text-to-speech:4.1.0-amd64-en-us-arianeural")
    assert tts["voice"] == "en-US-AriaNeural" and tts["memory"] == "16g"
    assert lid["published_port"] == "0.0.0.0:5002:5003"
    assert lid["tag"] == "1.18.0-amd64-preview" and lid["protocol"] == "http"


def test_mirror_and_tag_override():
    result = plan_of([{"name": "t", "kind": "ntts", "host_port": 5000, "tag": "3.11.0-amd64-zh-cn-xiaochenneural-preview"}],
                     registry="mirror.example:5443/")
    spec = result["plan"][0]
    assert spec["image"] == "mirror.example:5443/azure-cognitive-services/speechservices/neural-text-to-speech:3.11.0-amd64-zh-cn-xiaochenneural-preview"
    assert spec["voice"] == "zh-CN-XiaochenNeural" and spec["version"] == "3.11.0"


def test_custom_stt_mounts_models_and_others_do_not():
    result = plan_of([{"name": "c", "kind": "custom_stt", "host_port": 5000, "model_id": "abc-123"},
                      {"name": "s", "kind": "stt", "host_port": 5001}], data_dir="/srv/speech")
    custom, stt = result["plan"]
    assert {"type": "bind", "source": "/srv/speech/c/models", "target": "/usr/local/models"} in custom["mounts"]
    assert "ModelId=abc-123" in custom["args"]
    assert stt["mounts"] == []


def test_command_order_and_disconnected():
    result = plan_of([{"name": "s", "kind": "stt", "host_port": 5000, "log_level": "Information", "output_dir": "/srv/out",
                       "decoder_max_count": 2, "http_proxy": "http://proxy:3128"},
                      {"name": "d", "kind": "ntts", "host_port": 5001, "disconnected": True}])
    assert result["problems"] == []
    stt, dis = result["plan"]
    cmd = container_ops.command(stt, ENDPOINT, KEY, billing_in="args")
    assert cmd[:3] == ["Eula=accept", "Billing=" + ENDPOINT, "ApiKey=" + KEY]
    assert "Mounts:Output=/output" in cmd and "Logging:Console:LogLevel:Default=Information" in cmd
    assert stt["env"] == {"DECODER_MAX_COUNT": "2", "HTTP_PROXY": "http://proxy:3128", "HTTPS_PROXY": "http://proxy:3128",
                          "NO_PROXY": "localhost,127.0.0.1"}
    run = container_ops.command(dis, ENDPOINT, KEY, billing_in="args")
    assert run == ["Eula=accept", "Mounts:Output=/output", "Mounts:License=/license"]
    lic = container_ops.command(dis, ENDPOINT, KEY, billing_in="args", mode="license")
    assert lic == ["Eula=accept", "Billing=" + ENDPOINT, "ApiKey=" + KEY, "DownloadLicense=True", "Mounts:License=/license"]
    # The default: Eula, Billing and ApiKey in the environment, none of them in the arguments (`ps` shows arguments).
    env_cmd = container_ops.command(stt, ENDPOINT, KEY)
    assert KEY not in " ".join(env_cmd) and not [a for a in env_cmd if a.startswith(("Eula=", "Billing=", "ApiKey="))]
    env = container_ops.environment(stt, ENDPOINT, KEY)
    assert "ApiKey=" + KEY in env and "Billing=" + ENDPOINT in env and "Eula=accept" in env
    assert "ApiKey=" + KEY not in container_ops.environment(dis, ENDPOINT, KEY), "a disconnected container gets no key"
    assert "ApiKey=" + KEY in container_ops.environment(dis, ENDPOINT, KEY, mode="license"), "its licence download does"


def test_secrets_never_in_spec_or_labels():
    result = plan_of([{"name": "s", "kind": "stt", "host_port": 5000}], billing_fp=p.billing_fingerprint(ENDPOINT, KEY))
    assert KEY not in json.dumps(result)


def test_key_rotation_changes_the_hash_and_nothing_else_does():
    items = [{"name": "s", "kind": "stt", "host_port": 5000}]
    a = plan_of(items, billing_fp=p.billing_fingerprint(ENDPOINT, KEY))["plan"][0]
    b = plan_of(items, billing_fp=p.billing_fingerprint(ENDPOINT, KEY))["plan"][0]
    c = plan_of(items, billing_fp=p.billing_fingerprint(ENDPOINT, "f" * 32))["plan"][0]
    assert a["spec_hash"] == b["spec_hash"] != c["spec_hash"]
    assert json.loads(a["labels"][p.LABEL_SPEC])["image"] == a["image"]


@pytest.mark.parametrize("item, fragments", [
    ({"name": "x", "kind": "tts", "host_port": 5000}, ["[0] (x).kind", "'tts' is not allowed", "stt, custom_stt, lid, ntts"]),
    ({"name": "x", "kind": "stt"}, ["[0] (x).host_port", "missing"]),
    ({"name": "x", "kind": "stt", "host_port": 70000}, ["[0] (x).host_port", "out of range"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "locale": "english"}, ["(x).locale", "en-US"]),
    ({"name": "x", "kind": "ntts", "host_port": 5000, "voice": "Aria"}, ["(x).voice", "en-US-AriaNeural"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "version": "5.1"}, ["(x).version", "MAJOR.MINOR.PATCH"]),
    ({"name": "x", "kind": "lid", "host_port": 5000, "tag": "1.18.0-amd64"}, ["(x).tag", "-amd64-preview"]),
    ({"name": "x", "kind": "custom_stt", "host_port": 5000}, ["(x).model_id", "missing"]),
    ({"name": "x", "kind": "lid", "host_port": 5000, "disconnected": True}, ["(x).disconnected", "cannot run disconnected"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "memory": "lots"}, ["(x).memory", "8g or 512m"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "prot": 1}, ["[0] (x).prot: unknown option", "allowed:"]),
    ({"name": "x", "kind": "ntts", "host_port": 5000, "decoder_max_count": 2}, ["(x).decoder_max_count", "stt and custom_stt only"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "http_proxy": "proxy:3128"}, ["(x).http_proxy", "http://"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "settings": {"ApiKey": "k"}}, ["(x).settings", "ApiKey"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "log_level": "verbose"}, ["(x).log_level", "Information"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "cpu": 1}, ["(x).cpu: unknown option (did you mean cpus?)"]),
    ({"name": "x y", "kind": "stt", "host_port": 5000}, [".name", "'x y' is not allowed"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "cpus": 1}, ["(x).cpus", "below Microsoft's minimum of 4 cores", "speech_containers_allow_undersized"]),
    ({"name": "x", "kind": "stt", "host_port": "five"}, ["(x).host_port", "not a whole number"]),
    ({"name": "x", "kind": "ntts", "host_port": 5000, "disconnected": "maybe"}, ["(x).disconnected", "'maybe' is not true or false"]),
    ({"name": "x", "kind": "ntts", "host_port": 5000, "locale": "en-US"}, ["(x).locale", "set voice instead"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "models_dir": "/srv/m"}, ["(x).models_dir", "only custom_stt"]),
    ({"name": "x", "kind": "stt", "host_port": 5000, "disk_logging": True}, ["(x).disk_logging", "output_dir"]),
])
def test_each_bad_entry_is_named(item, fragments):
    result = plan_of([item])
    message = one(result["problems"], *fragments)
    assert message.startswith("speech_containers_list[0]")


def test_strings_from_an_ini_inventory_or_a_template_are_taken_as_ansible_takes_them():
    result = plan_of([{"name": "x", "kind": "ntts", "host_port": "5001", "cpus": "0.5", "memory": "512m", "disconnected": "no"}],
                     allow_undersized=True)
    assert result["problems"] == []
    entry = result["plan"][0]
    assert entry["host_port"] == 5001 and entry["cpus"] == 0.5 and entry["disconnected"] is False
    result = plan_of([{"name": "y", "kind": "ntts", "host_port": 5002, "disconnected": "yes"}])
    assert result["plan"][0]["disconnected"] is True


def test_duplicates_and_everything_at_once():
    result = plan_of([{"name": "a", "kind": "stt", "host_port": 5000}, {"name": "a", "kind": "stt", "host_port": 5000},
                      {"name": "b", "kind": "nope", "host_port": 1}], varname="preflight_containers")
    one(result["problems"], "preflight_containers[1] (a).name", "used twice")
    one(result["problems"], "preflight_containers[1] (a).host_port", "5000 is used twice")
    one(result["problems"], "preflight_containers[2] (b).kind")
    assert len(result["problems"]) == 3


def test_not_a_list():
    assert "speech_containers_list: must be a list" in plan_of("stt")["problems"][0]


def test_undersized_allowed_becomes_a_warning():
    result = plan_of([{"name": "x", "kind": "ntts", "host_port": 5000, "cpus": 0.5, "memory": "512m"}], allow_undersized=True)
    assert result["problems"] == []
    assert result["warnings"] == ["speech_containers_list[0] (x): 0.5 cores and 512 MiB below Microsoft's minimum for Neural text to speech "
                                  "(6 cores, 12288 MiB); allowed by speech_containers_allow_undersized"]


@pytest.mark.parametrize("eula, endpoint, key, fragments", [
    ("", ENDPOINT, True, ["speech_containers_eula", "accept"]),
    ("yes", ENDPOINT, True, ["speech_containers_eula", "'yes'"]),
    ("accept", "", True, ["speech_containers_billing_endpoint", "missing"]),
    ("accept", "http://speechdemo.cognitiveservices.azure.com/", True, ["speech_containers_billing_endpoint", "https://"]),
    ("accept", "speechdemo", True, ["speech_containers_billing_endpoint", "https://"]),
    ("accept", ENDPOINT, False, ["speech_containers_api_key", "missing"]),
])
def test_billing(eula, endpoint, key, fragments):
    specs = plan_of([{"name": "s", "kind": "stt", "host_port": 5000}])["plan"]
    problems = p.check_billing(specs, eula, endpoint, key)
    one(problems, *fragments)
    assert len(problems) == 1


def test_disconnected_only_needs_no_billing():
    specs = plan_of([{"name": "s", "kind": "stt", "host_port": 5000, "disconnected": True}])["plan"]
    assert p.check_billing(specs, "accept", "", False) == []


GOOD = {"architecture": "x86_64", "avx2": True, "cpu_model": "AMD EPYC", "core_max_mhz": 2596.146, "core_max_mhz_source": "cpuinfo_mhz",
        "usable_cpus": 2.0, "logical_cpus": 2, "usable_memory_mb": 24000, "memory_total_mb": 24000, "ip_forward": True,
        "listening_ports": [22], "docker": {"data_root": "/var/lib/docker", "data_root_free_mb": 80000, "published_ports": []}}
SMALL = [{"name": "s", "kind": "stt", "host_port": 5000, "cpus": 0.5, "memory": "1g"},
         {"name": "t", "kind": "ntts", "host_port": 5001, "cpus": 0.5, "memory": "1g"}]


def check(facts=None, items=None, **kw):
    specs = plan_of(items if items is not None else SMALL, allow_undersized=True)["plan"]
    return p.check_host(dict(GOOD, **(facts or {})), specs, **kw)


def test_good_host_passes_and_2596_mhz_meets_2_6_ghz():
    result = check()
    assert result["problems"] == [] and result["warnings"] == []
    assert result["summary"] == {"need_cpus": 1.0, "have_cpus": 2.0, "need_memory_mb": 1024 + 4096 + 1024, "have_memory_mb": 24000}


@pytest.mark.parametrize("facts, fragments", [
    ({"architecture": "aarch64"}, ["architecture: aarch64", "x86_64"]),
    ({"avx2": False, "cpu_model": "QEMU Virtual CPU version 2.5+"}, ["AVX2", "QEMU Virtual CPU", "host-passthrough"]),
    ({"core_max_mhz": 2200.0}, ["clock: 2200 MHz", "below 2600 MHz", "preflight_min_core_mhz"]),
    ({"core_max_mhz": 2549.0}, ["clock: 2549 MHz"]),
    ({"ip_forward": False}, ["net.ipv4.ip_forward"]),
    ({"usable_cpus": 0.5}, ["cpus: the containers planned here need 1 cores", "s 0.5 + t 0.5", "the host has 0.5"]),
    ({"usable_memory_mb": 2048}, ["memory: the containers planned here need 6144 MiB", "s 1024+4096 model", "the host has 2048 MiB"]),
    ({"listening_ports": [22, 5000]}, ["(s).host_port: 5000 is already in use", "outside Docker"]),
    ({"docker": {"published_ports": [{"port": 5001, "container": "web", "managed": False}]}}, ["(t).host_port: 5001", "container web (not managed"]),
    ({"docker": {"data_root": "/var/lib/docker", "data_root_free_mb": 100, "published_ports": []}}, ["disk: 100 MiB free", "preflight_min_free_gb"]),
])
def test_host_problems_name_what_is_wrong(facts, fragments):
    result = check(facts, min_free_mb=10240)
    one(result["problems"], *fragments)


def test_own_managed_container_holds_its_port():
    facts = {"listening_ports": [22, 5000], "docker": {"published_ports": [{"port": 5000, "container": "s", "managed": True}]}}
    assert check(facts)["problems"] == []
    facts = {"listening_ports": [5000], "docker": {"published_ports": [{"port": 5000, "container": "old", "managed": True}]}}
    assert check(facts)["problems"] == [], "a managed container that is no longer planned is removed before"


def test_unknown_clock_warns_or_fails_when_strict():
    assert "clock" in check({"core_max_mhz": None})["warnings"][0]
    assert "preflight_strict_clock" in check({"core_max_mhz": None}, strict_clock=True)["problems"][0]


def test_memory_forms():
    assert p.memory_to_mb("8g") == 8192 and p.memory_to_mb("512m") == 512 and p.memory_to_mb("1.5G") == 1536
    assert p.memory_to_mb(1073741824) == 1024 and p.memory_to_mb("8gb") == 8192
    assert p.memory_to_mb("lots") is None and p.memory_to_mb("-1g") is None
    assert p.mb_to_docker(8192) == "8g" and p.mb_to_docker(1536) == "1536m"


def test_client_url():
    stt, tts = plan_of(SMALL, allow_undersized=True)["plan"]
    assert p.client_url(stt, "h1") == "ws://h1:5000" and p.client_url(tts, "h1") == "http://h1:5001"


# What the role changes on a host, from the plan and speech_info's answer ----------------------------------------------

def specs(*items, **kw):
    return plan_of(list(items), allow_undersized=True, **kw)["plan"]


def running(spec, image_id="sha256:aaa", running_state=True, name=None):
    name = name or spec["name"]
    return {"name": name, "id": "id-" + name, "spec_hash": spec["spec_hash"], "image_id": image_id, "running": running_state,
            "labels": spec["labels"]}


def info_for(plan, containers=(), present=True, paths=None):
    return {"containers": list(containers),
            "images": dict((s["image"], {"present": present, "id": "sha256:aaa" if present else None, "uid": 65532 if present else None,
                                         "gid": 65532 if present else None, "digest": "sha256:ddd"}) for s in plan),
            "paths": paths or {}}


STT = {"name": "stt", "kind": "stt", "host_port": 5000, "cpus": 0.5, "memory": "1g", "output_dir": "/srv/out"}
TTS = {"name": "tts", "kind": "ntts", "host_port": 5001, "cpus": 0.5, "memory": "1g"}


def test_fresh_host_creates_everything():
    plan = specs(STT, TTS)
    changes = p.plan_changes(plan, info_for(plan, present=False))
    assert [s["name"] for s in changes["apply"]] == ["stt", "tts"]
    assert changes["new"] == ["stt", "tts"] and changes["replace"] == [] and changes["restate"] == []
    assert changes["previous"] == {"stt": None, "tts": None}
    assert changes["missing_images"] == sorted(s["image"] for s in plan) and changes["pull"]
    assert changes["dirs"] == [{"path": "/srv/out", "owner": 0, "group": 0, "purpose": "output", "container": "stt", "mode": "0750"}]


def test_converged_host_changes_nothing():
    plan = specs(STT, TTS)
    paths = {"/srv/out": {"exists": True, "isdir": True, "uid": 65532, "gid": 65532}}
    changes = p.plan_changes(plan, info_for(plan, [running(s) for s in plan], paths=paths))
    assert changes["apply"] == [] and changes["absent"] == [] and changes["dirs"] == [] and changes["missing_images"] == []
    assert changes["unchanged"] == ["stt", "tts"] and not changes["pull"]


def test_an_image_that_follows_its_tag_is_pulled_even_when_present_and_an_absent_one_never():
    plan = specs(STT, TTS)
    paths = {"/srv/out": {"exists": True, "isdir": True, "uid": 65532, "gid": 65532}}
    follows = [dict(plan[0], policy="always"), plan[1]]
    changes = p.plan_changes(follows, info_for(follows, [running(s) for s in follows], paths=paths))
    assert changes["missing_images"] == [] and changes["pull"] and changes["steady"]
    gone = [dict(plan[0], policy="always", state="absent"), plan[1]]
    assert not p.plan_changes(gone, info_for(gone, [running(plan[1])], paths=paths))["pull"]


def test_only_the_changed_container_is_recreated_and_its_previous_spec_kept():
    old = specs(STT, TTS)
    new = specs(dict(STT, version="5.2.0"), TTS)
    changes = p.plan_changes(new, info_for(new, [running(s) for s in old]))
    assert [s["name"] for s in changes["apply"]] == ["stt"] and changes["replace"] == ["stt"]
    previous = changes["previous"]["stt"]
    assert previous["image"].endswith(":5.1.0-amd64-en-us") and previous["spec_hash"] == old[0]["spec_hash"]
    assert previous["labels"] == old[0]["labels"] and previous["state"] == "started"
    assert container_ops.command(previous, ENDPOINT, KEY) == container_ops.command(old[0], ENDPOINT, KEY)
    assert changes["rollback"] == [{"name": "stt", "change": "replace", "previous_id": "id-stt", "previous_running": True}]
    assert changes["actions"] == [{"name": "stt", "action": "replaced",
                                   "reason": "image speech-to-text:5.1.0-amd64-en-us -> speech-to-text:5.2.0-amd64-en-us"},
                                  {"name": "tts", "action": "unchanged", "reason": ""}]


def test_prepare_and_the_billing_gate_are_decided_once():
    """tasks/prepare.yml runs (and the gate asks) exactly when the comparison says so; the role restates neither."""
    plan = specs(STT, TTS)
    paths = {"/srv/out": {"exists": True, "isdir": True, "uid": 65532, "gid": 65532}}
    steady = p.plan_changes(plan, info_for(plan, [running(s) for s in plan], paths=paths))
    assert steady["ask_gate"] is False and steady["prepare"] is False
    new = specs(dict(STT, version="5.2.0"), TTS)
    upgrade = p.plan_changes(new, info_for(new, [running(s) for s in plan], paths=paths))
    assert upgrade["gate"] and upgrade["ask_gate"] is True and upgrade["prepare"] is True
    off = p.plan_changes(new, info_for(new, [running(s) for s in plan], paths=paths), billing_gate=False)
    assert off["ask_gate"] is False and off["prepare"] is False
    fresh = p.plan_changes(plan, info_for(plan, present=False))
    assert fresh["ask_gate"] is False and fresh["prepare"] is True  # a directory to make, nothing running to ask


def test_steady_is_nothing_at_all_to_do():
    """One value says a host has nothing to change; site.yml's sorting and the steady entry point both read it."""
    plan = specs(STT, TTS)
    paths = {"/srv/out": {"exists": True, "isdir": True, "uid": 65532, "gid": 65532}}
    assert p.plan_changes(plan, info_for(plan, [running(s) for s in plan], paths=paths))["steady"] is True
    # A directory whose owner changed, every container as planned: not steady (the rollout repairs it).
    chowned = {"/srv/out": dict(paths["/srv/out"], uid=0, gid=0)}
    moved = p.plan_changes(plan, info_for(plan, [running(s) for s in plan], paths=chowned), adopt_dirs=True)
    assert moved["actions"] and all(a["action"] == "unchanged" for a in moved["actions"]) and moved["steady"] is False
    # A container stopped, one missing, one unlisted: not steady.
    assert p.plan_changes(plan, info_for(plan, [running(plan[0], running_state=False), running(plan[1])], paths=paths))["steady"] is False
    assert p.plan_changes(plan, info_for(plan, [running(plan[0])], paths=paths))["steady"] is False
    assert p.plan_changes(plan[:1], info_for(plan, [running(s) for s in plan], paths=paths))["steady"] is False


def test_changing_lists_the_actions_other_than_unchanged():
    """What the role says it changed, and its result's changes, read this one list."""
    plan = specs(STT, TTS)
    steady = p.plan_changes(plan, info_for(plan, [running(s) for s in plan]))
    assert steady["changing"] == []
    stopped = p.plan_changes(plan, info_for(plan, [running(plan[0], running_state=False), running(plan[1])]))
    assert [a["name"] for a in stopped["changing"]] == [plan[0]["name"]]
    assert stopped["changing"] == [a for a in stopped["actions"] if a["action"] != "unchanged"]


def test_a_moved_tag_or_a_stopped_container_or_a_key_rotation_is_applied():
    plan = specs(STT)
    assert p.plan_changes(plan, info_for(plan, [running(plan[0], image_id="sha256:old")]))["replace"] == ["stt"]
    assert p.plan_changes(plan, info_for(plan, [running(plan[0], running_state=False)]))["restate"] == ["stt"]
    rotated = specs(STT, billing_fp="other")
    assert p.plan_changes(rotated, info_for(rotated, [running(plan[0])]))["replace"] == ["stt"]


def test_limits_changed_on_the_host_are_drift():
    """docker update --cpus/--memory leaves the labels alone; the engine's values tell, and the container is replaced."""
    plan = specs(STT)
    same = dict(running(plan[0]), limits={"nano_cpus": 500000000, "memory": 1024 * 1024 * 1024})
    assert p.plan_changes(plan, info_for(plan, [same]))["unchanged"] == ["stt"]
    updated = dict(same, limits={"nano_cpus": 1500000000, "memory": 512 * 1024 * 1024})
    changes = p.plan_changes(plan, info_for(plan, [updated]))
    assert changes["replace"] == ["stt"]
    assert changes["actions"][0]["reason"] == "changed outside the collection: cpus 1.5 on the host, 0.5 planned, memory 512m on the host, 1g planned"
    # A summary without an inspect (no limits) is not taken for drift.
    assert p.plan_changes(plan, info_for(plan, [dict(same, limits=None)]))["unchanged"] == ["stt"]


def test_stopping_does_not_change_the_hash():
    started, stopped = specs(STT)[0], specs(dict(STT, state="stopped"))[0]
    assert started["spec_hash"] == stopped["spec_hash"] and started["labels"] == stopped["labels"]


def test_unlisted_and_absent_are_removed_and_data_kept():
    plan = specs(STT, dict(TTS, state="absent"))
    current = [running(s) for s in specs(STT, TTS)] + [{"name": "old", "spec_hash": "x", "image_id": "y", "running": True, "labels": {}}]
    changes = p.plan_changes(plan, info_for(plan, current))
    assert changes["absent"] == ["tts", "old"]
    assert p.plan_changes(plan, info_for(plan, current), remove_unlisted=False)["absent"] == ["tts"]


def test_licence_fetched_once_per_image():
    plan = specs(dict(TTS, disconnected=True))
    marker = container_ops.license_marker(plan[0])
    assert marker.startswith("/var/lib/onprem-speech/tts/license.fetched-for-")
    assert marker in p.state_paths(plan)
    assert p.plan_changes(plan, info_for(plan))["licenses"] == plan
    assert p.plan_changes(plan, info_for(plan, paths={marker: {"exists": True}}))["licenses"] == []
    assert p.plan_changes(plan, info_for(plan, paths={marker: {"exists": True}}), license_refresh=True)["licenses"] == plan
    upgraded = specs(dict(TTS, disconnected=True, version="4.2.0"))
    assert container_ops.license_marker(upgraded[0]) != marker
    moved = p.plan_changes(plan, info_for(plan, [running(plan[0], image_id="sha256:old")], paths={marker: {"exists": True}}))
    assert moved["licenses"] == plan, "the same tag pointing at a new image needs a new licence"
    resized = specs(dict(TTS, disconnected=True, cpus=0.75))
    same_image = p.plan_changes(resized, info_for(resized, [running(plan[0])], paths={marker: {"exists": True}}))
    assert same_image["replace"] == ["tts"] and same_image["licenses"] == []


def test_spec_from_labels_rejects_foreign_labels():
    assert p.spec_from_labels({"com.example": "x"}) is None
    assert p.spec_from_labels({p.LABEL_MANAGED: "true", p.LABEL_SPEC: "{not json"}) is None


def test_readiness_targets_and_report():
    plan = specs(STT, TTS, dict(TTS, name="off", host_port=5002, state="stopped"))
    targets = p.readiness_targets(plan)
    assert [t["name"] for t in targets] == ["stt", "tts"]
    assert targets[0] == {"name": "stt", "kind": "stt", "port": 5000, "host": "127.0.0.1", "protocol": "ws", "locale": "en-US",
                          "voice": None, "disconnected": False}
    rows = p.report(plan, info_for(plan), {"containers": [{"name": "stt", "ready": True, "api_status": "Valid"}]}, "h1")
    assert rows[0]["url"] == "ws://h1:5000" and rows[0]["ready"] is True and rows[0]["digest"] == "sha256:ddd"
    assert rows[1]["url"] == "http://h1:5001" and rows[1]["ready"] is None


def test_settings_problems_name_their_variable():
    good = {"image_source": "pull", "registry": "mcr.microsoft.com", "ready_timeout": 300, "status_timeout": 120, "pull_retries": 5}
    assert p.check_settings(good) == []
    assert "speech_containers_image_archive" in p.check_settings(dict(good, image_source="load"))[0]
    assert "speech_containers_registry_username and speech_containers_registry_password" in p.check_settings(dict(good, registry_username="u"))[0]
    assert "speech_containers_registry_ca" in p.check_settings(dict(good, registry_ca="hello"))[0]
    assert "speech_containers_registry:" in p.check_settings(dict(good, registry="https://mirror"))[0]
    assert p.check_settings(dict(good, registry="mirror.example.com:5443/speech")) == []
    assert p.registry_host("mirror.example.com:5443/speech") == "mirror.example.com:5443"


def test_redact():
    assert p.redact("bad key %s here" % KEY, KEY, "") == "bad key <hidden> here"
    assert p.redact(None, KEY) == ""


def test_force_state_overrides_each_container_and_is_checked():
    items = [dict(STT, state="started"), TTS]
    assert [s["state"] for s in specs(*items, force_state="stopped")] == ["stopped", "stopped"]
    assert [s["state"] for s in specs(*items)] == ["started", "started"]
    assert "speech_containers_force_state" in plan_of(items, force_state="paused")["problems"][0]


def test_a_list_that_is_not_given_removes_nothing_and_refuses_to_remove_everything():
    current = [running(s) for s in specs(STT, TTS)]
    not_given = p.plan_changes([], info_for([], current), list_given=False)
    assert not_given["absent"] == [] and "remove every container it manages here: stt, tts" in not_given["refusals"][0]
    assert p.plan_changes([], info_for([], current), list_given=False, remove_unlisted=False)["refusals"] == []
    assert p.plan_changes([], info_for([], current), list_given=False, remove_unlisted=True)["absent"] == ["stt", "tts"]
    assert p.plan_changes([], info_for([], current), list_given=True)["absent"] == ["stt", "tts"], "[] removes them"


def test_a_directory_that_is_not_the_collections_is_refused_and_a_sticky_bit_kept_when_adopted():
    plan = specs(dict(STT, output_dir="/var/tmp/out"))
    shared = {"/var/tmp/out": {"exists": True, "isdir": True, "uid": 0, "gid": 0, "mode": "1777"}}
    changes = p.plan_changes(plan, info_for(plan, paths=shared))
    assert changes["dirs"] == [] and "did not make it" in changes["refusals"][0] and "sticky bit" in changes["refusals"][0]
    adopted = p.plan_changes(plan, info_for(plan, paths=shared), adopt_dirs=True)
    assert adopted["refusals"] == [] and adopted["dirs"][0]["mode"] == "1777" and adopted["dirs"][0]["owner"] == 65532
    ours = {"/var/tmp/out": {"exists": True, "isdir": True, "uid": 65532, "gid": 65532, "mode": "0750"}}
    assert p.plan_changes(plan, info_for(plan, paths=ours))["refusals"] == []


def test_a_directory_its_own_container_mounts_is_the_collections_and_its_owner_is_repaired():
    """Drift: the owner of a directory a managed container mounts was changed by hand; preflight and the role repair it."""
    plan = specs(STT)
    container = dict(running(plan[0]), spec=json.loads(plan[0]["labels"][p.LABEL_SPEC]))
    chowned = {"/srv/out": {"exists": True, "isdir": True, "uid": 0, "gid": 0, "mode": "0750"}}
    changes = p.plan_changes(plan, info_for(plan, [container], paths=chowned))
    assert changes["refusals"] == []
    assert changes["dirs"] == [{"path": "/srv/out", "owner": 65532, "group": 65532, "purpose": "output", "container": "stt", "mode": "0750"}]
    facts = {"paths": chowned, "speech": {"containers": [container]}}
    assert p.check_placement(facts, plan)["problems"] == []
    # Without the container that mounts it, the same directory is somebody else's.
    assert "did not make it" in p.check_placement({"paths": chowned}, plan)["problems"][0]


# The host's real state wins: Docker's states and an interrupted run's leftovers ---------------------------------------

def in_state(spec, state, name=None, **more):
    found = running(spec, name=name, running_state=state in ("running", "paused", "restarting"))
    found.update(state=state, **more)
    return found


def test_a_paused_container_is_started_and_a_dead_or_removing_one_made_again():
    plan = specs(TTS)
    paused = p.plan_changes(plan, info_for(plan, [in_state(plan[0], "paused")]))
    assert paused["restate"] == ["tts"] and paused["actions"][0]["reason"] == "planned started, it is paused"
    for state in ("dead", "removing"):
        gone = p.plan_changes(plan, info_for(plan, [in_state(plan[0], state)]))
        assert gone["new"] == ["tts"], state
    # Docker's State.Running is true for a paused container: it was taken for running, and so left paused.
    assert p.plan_changes(plan, info_for(plan, [in_state(plan[0], "running")]))["steady"] is True


def test_a_crash_loop_replaced_says_so():
    old, new = specs(dict(TTS, memory="256m")), specs(dict(TTS, memory="1g"))
    looping = in_state(old[0], "restarting", restart_count=41, exit_code=137, oom_killed=True)
    changes = p.plan_changes(new, info_for(new, [looping]))
    assert changes["replace"] == ["tts"]
    assert "in a crash loop: restarting, 41 restarts, last exit 137, killed for memory (OOM)" in changes["actions"][0]["reason"]


def leftovers(plan_spec, previous_spec, successor_spec, ready=None, successor_state="restarting"):
    """A host a killed controller left mid-replace: the last good container as tts.previous, its successor as tts."""
    kept = in_state(previous_spec, "exited", name="tts.previous")
    successor = in_state(successor_spec, successor_state)
    info = info_for([plan_spec], [successor, kept])
    info["images"][previous_spec["image"]] = info["images"][plan_spec["image"]]
    info["host_state"] = {"ready": ready or {}}
    return info


def test_an_interrupted_replace_whose_previous_spec_is_planned_is_put_back():
    good, bad = specs(dict(TTS, version="5.1.0"))[0], specs(dict(TTS, version="5.2.0"))[0]
    changes = p.plan_changes([good], leftovers(good, good, bad))
    assert [(a["name"], a["change"]) for a in changes["apply"]] == [("tts", "restore")]
    assert changes["absent"] == [] and changes["actions"][0]["action"] == "restored"
    assert "the last container proven ready" in changes["actions"][0]["reason"]
    assert changes["rollback"][0]["change"] == "restore"


def test_an_interrupted_replace_whose_successor_spec_is_planned_resumes_and_commits():
    good, bad = specs(dict(TTS, version="5.1.0"))[0], specs(dict(TTS, version="5.2.0"))[0]
    changes = p.plan_changes([bad], leftovers(bad, good, bad))
    assert [(a["name"], a["change"]) for a in changes["apply"]] == [("tts", "resume")]
    assert changes["replace"] == ["tts"], "commit drops tts.previous once tts is proven ready"
    assert changes["rollback"] == [{"name": "tts", "change": "resume", "previous_id": "id-tts.previous", "previous_running": True}]
    assert changes["absent"] == []


def test_an_interrupted_replace_and_a_third_spec_keeps_the_previous():
    good, bad, third = (specs(dict(TTS, version=v))[0] for v in ("5.1.0", "5.2.0", "5.3.0"))
    changes = p.plan_changes([third], leftovers(third, good, bad))
    item = changes["apply"][0]
    assert (item["change"], item["keep_previous"], item["previous_id"]) == ("replace", True, "id-tts.previous")
    assert changes["absent"] == [], "tts.previous is never removed before a successor is proven ready"


def test_a_successor_proven_ready_whose_commit_was_cut_short_drops_the_previous():
    good, bad = specs(dict(TTS, version="5.1.0"))[0], specs(dict(TTS, version="5.2.0"))[0]
    changes = p.plan_changes([bad], leftovers(bad, good, bad, ready={"tts": {"id": "id-tts"}}, successor_state="running"))
    assert changes["apply"] == [] and changes["absent"] == ["tts.previous"]
    assert [a["reason"] for a in changes["actions"] if a["name"] == "tts.previous"] == ["left by an interrupted run"]


def test_preflight_says_what_the_guard_did_since_the_last_run():
    journal = [{"by": "run", "run": "r1", "at": "t1"},
               {"by": "guard", "run": "r2", "at": "t2", "containers": ["tts"], "result": "put back", "why": "no confirmation within 440 s",
                "actions": [{"name": "tts", "action": "restored"}]}]
    warnings = p.guard_warnings(journal)
    assert warnings == ["the host's guard put back tts at t2: no confirmation within 440 s (run r2); tts restored"]
    # Once a run has been since, the guard's entry is history (the report's journal still shows it).
    assert p.guard_warnings(journal + [{"by": "run", "run": "r3", "at": "t3"}]) == []


def test_a_host_without_requests_is_named_before_community_docker_would_fail_on_it():
    plan = specs(STT)
    assert p.plan_changes(plan, dict(info_for(plan, []), python_requests=False))["needs_requests"] is True
    # With requests, or a look that does not say (an older look), or nothing to create: nothing to say.
    assert p.plan_changes(plan, dict(info_for(plan, []), python_requests=True))["needs_requests"] is False
    assert p.plan_changes(plan, info_for(plan, []))["needs_requests"] is False
    assert p.plan_changes(plan, dict(info_for(plan, [running(s) for s in plan]), python_requests=False))["needs_requests"] is False


def test_a_host_without_requests_is_named_before_a_pull_too():
    """community.docker.docker_image_pull needs requests as docker_container does: a running container whose image must be
    pulled (policy always, or an image missing) is named too. Fails on the code before the images moved to community.docker."""
    plan = specs(STT)
    running_all = [running(s) for s in plan]
    assert p.plan_changes(plan, dict(info_for(plan, running_all, present=False), python_requests=False))["needs_requests"] is True
    plan = [dict(s, policy="always") for s in plan]
    assert p.plan_changes(plan, dict(info_for(plan, running_all), python_requests=False))["needs_requests"] is True


def test_the_report_of_a_host_whose_ansible_host_is_ipv6_gives_a_url_a_client_can_use():
    """speech_containers_client_host defaults to ansible_host; an IPv6 one was printed as ws://fd00::5:5000 before
    module_utils/text.py's client_url (this test fails on the code before it)."""
    plan = specs(STT, TTS)
    rows = p.report(plan, info_for(plan, [running(s) for s in plan]), {"containers": []}, "fd00::5")
    assert [r["url"] for r in rows] == ["ws://[fd00::5]:5000", "http://[fd00::5]:5001"]
