"""docker_options: community.docker.docker_container options the collection does not model, checked against the argument
spec of the installed community.docker (read from it, never copied), and passed on by the role's create task; and the
create step's options (container_params) against the create body the collection sent the engine before community.docker."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.onprem.speech.plugins.filter.speech import FilterModule
from ansible_collections.onprem.speech.plugins.module_utils import container_ops as ops
from ansible_collections.onprem.speech.plugins.plugin_utils import docker_options as d
from ansible_collections.onprem.speech.plugins.plugin_utils import plan as p

ROOT = Path(__file__).resolve().parents[4]
KEY = "0123456789abcdef0123456789abcdef"
ENDPOINT = "https://speechdemo.cognitiveservices.azure.com/"
WHERE = "speech_containers_list[0] (tts)"
FILTERS = FilterModule().filters()


def plan_of(**extra):
    item = dict({"name": "tts", "kind": "ntts", "voice": "en-US-AriaNeural", "host_port": 5003, "cpus": 0.5, "memory": "1g"}, **extra)
    return p.normalize_plan([item], allow_undersized=True, billing_fp=p.billing_fingerprint(ENDPOINT, KEY))


def test_the_spec_is_read_from_the_installed_community_docker():
    spec, version = d.container_spec()
    assert version.count(".") == 2
    assert spec["security_opts"] == {"type": "list", "elements": "str"}
    assert {"cap_drop", "read_only", "tmpfs", "ulimits", "log_options", "labels"} <= set(spec)


def test_hardening_options_pass_and_are_typed_as_the_module_types_them():
    wanted, problems = d.check({"security_opts": ["no-new-privileges:true"], "cap_drop": ["ALL"], "read_only": "yes",
                                "tmpfs": ["/tmp"], "log_opt": {"max-size": "10m"}, "labels": {"team": "speech"}}, WHERE)
    assert problems == []
    assert wanted == {"security_opts": ["no-new-privileges:true"], "cap_drop": ["ALL"], "read_only": True, "tmpfs": ["/tmp"],
                      "log_options": {"max-size": "10m"}, "labels": {"team": "speech"}}


@pytest.mark.parametrize("options, expected", [
    ({"securty_opts": ["x"]},
     WHERE + ".docker_options.securty_opts: community.docker.docker_container %s has no such container option (did you mean security_opts?)"),
    ({"state": "started"}, WHERE + ".docker_options.state: community.docker.docker_container %s has no such container option"),
    ({"cpus": 2}, WHERE + ".docker_options.cpus: the collection sets it; set cpus instead"),
    ({"image": "x"}, WHERE + ".docker_options.image: the collection sets it; set kind, version, locale, voice, tag or digest instead"),
    ({"ports": ["1:2"]}, WHERE + ".docker_options.ports: the collection sets it; set host_port and host_ip instead"),
    ({"env": {"A": "b"}}, WHERE + ".docker_options.env: the collection sets it; set env (and speech_containers_secret_env for secrets) instead"),
    ({"restart_policy": "always"}, WHERE + ".docker_options.restart_policy: the collection sets it; set speech_containers_restart_policy instead"),
    ({"mounts": [{"type": "bind", "source": "/srv/x", "target": "/output"}]},
     WHERE + ".docker_options.mounts: /output is mounted by the collection; set output_dir instead"),
    ({"volumes": ["/srv/m:/usr/local/models:ro"]}, WHERE + ".docker_options.volumes: /usr/local/models is mounted by the collection; set models_dir instead"),
    ({"labels": {"onprem.speech.kind": "x"}},
     WHERE + ".docker_options.labels: onprem.speech.kind is in the collection's own namespace (onprem.speech.*); pick another name"),
])
def test_unknown_and_owned_options_are_refused_naming_them(options, expected):
    _spec, version = d.container_spec()
    _wanted, problems = d.check(options, WHERE)
    assert problems == [expected.replace("%s", version)]


def test_a_value_of_the_wrong_type_is_named_by_ansibles_validator():
    _wanted, problems = d.check({"read_only": "perhaps", "ulimits": {"nofile": 1}}, WHERE)
    assert len(problems) == 2, problems
    assert all(problem.startswith(WHERE + ".docker_options: ") for problem in problems)
    assert any("read_only" in problem for problem in problems) and any("ulimits" in problem for problem in problems)


def test_every_problem_of_a_plan_in_one_list_and_no_spec_for_it():
    result = plan_of(docker_options={"cpus": 1, "nosuch": 1})
    assert [x for x in result["problems"] if "docker_options" in x] == [
        WHERE + ".docker_options.cpus: the collection sets it; set cpus instead",
        WHERE + ".docker_options.nosuch: community.docker.docker_container %s has no such container option" % d.container_spec()[1]]


def test_options_are_part_of_the_spec_so_a_change_replaces_and_none_keeps_the_old_hash():
    bare = plan_of()["plan"][0]
    hardened = plan_of(docker_options={"security_opts": ["no-new-privileges:true"]})["plan"][0]
    dropped = plan_of(docker_options={"security_opts": ["no-new-privileges:true"], "cap_drop": ["ALL"]})["plan"][0]
    assert "docker_options" not in bare
    assert len({bare["spec_hash"], hardened["spec_hash"], dropped["spec_hash"]}) == 3
    assert plan_of(docker_options={})["plan"][0]["spec_hash"] == bare["spec_hash"]
    assert "security_opts" in p.change_reason(hardened, dropped) or "docker_options" in p.change_reason(hardened, dropped)


def test_the_create_task_passes_on_every_option_docker_options_lets_through():
    tasks = yaml.safe_load((ROOT / "roles" / "speech_containers" / "tasks" / "containers.yml").read_text())
    block = [t for t in tasks if "block" in t][0]["block"]
    create = [t for t in block if t.get("community.docker.docker_container", {}).get("state") == "present"][0]
    args = create["community.docker.docker_container"]
    passed = set(k for k, v in args.items() if isinstance(v, str) and v == "{{ item.%s | default(omit) }}" % k)
    assert (passed - {"restart_retries"}) | {"labels", "mounts"} == set(d.pass_through())
    assert create["no_log"] is True


def test_create_params_describe_the_container_the_create_body_did():
    spec = plan_of(host_ip="10.0.0.5", env={"X": "1"}, output_dir="/srv/out")["plan"][0]
    body = ops.create_body(spec, ENDPOINT, KEY, secret_env={"HTTP_PROXY_CREDS": "u:secretpw"})
    params = ops.container_params(spec, ENDPOINT, KEY, secret_env={"HTTP_PROXY_CREDS": "u:secretpw"})
    assert params["image"] == body["Image"]
    assert params["command"] == body["Cmd"]
    assert sorted("%s=%s" % pair for pair in params["env"].items()) == body["Env"]
    assert int(round(params["cpus"] * 1e9)) == body["HostConfig"]["NanoCpus"]
    assert params["memory"] == "%dM" % spec["memory_mb"] and spec["memory_mb"] * 1024 * 1024 == body["HostConfig"]["Memory"]
    assert params["published_ports"] == ["10.0.0.5:5003:5050"] or params["published_ports"] == ["10.0.0.5:5003:%d" % spec["container_port"]]
    binding = body["HostConfig"]["PortBindings"]["%d/tcp" % spec["container_port"]][0]
    assert params["published_ports"] == ["%s:%s:%d" % (binding["HostIp"], binding["HostPort"], spec["container_port"])]
    mounts = [{"type": "bind", "source": m["Source"], "target": m["Target"]} for m in body["HostConfig"]["Mounts"]]
    assert [dict(m, type="bind") for m in params["mounts"]] == mounts
    assert params["labels"] == body["Labels"]
    assert params["restart_policy"] == body["HostConfig"]["RestartPolicy"]["Name"]


def test_create_params_bracket_an_ipv6_address_and_add_the_operators_options_after_the_collections():
    spec = plan_of(host_ip="fd00::5", docker_options={"labels": {"team": "speech"}, "cap_drop": ["ALL"],
                                                      "mounts": [{"type": "tmpfs", "target": "/tmp"}]}, output_dir="/srv/out")["plan"][0]
    params = ops.container_params(spec, ENDPOINT, KEY, restart_policy="on-failure")
    assert params["published_ports"] == ["[fd00::5]:5003:%d" % spec["container_port"]]
    assert params["labels"]["team"] == "speech" and params["labels"]["onprem.speech.managed"] == "true"
    assert [m["target"] for m in params["mounts"]] == ["/output", "/tmp"]
    assert params["cap_drop"] == ["ALL"] and params["restart_retries"] == 0


def test_the_params_filter_keeps_the_order_of_the_names_and_names_the_step():
    plan = p.normalize_plan([{"name": n, "kind": "ntts", "host_port": port, "cpus": 0.5, "memory": "1g"}
                             for n, port in (("a", 5001), ("b", 5002))], allow_undersized=True)["plan"]
    params = FILTERS["speech_container_params"](["b", "a"], plan, ENDPOINT, KEY)
    assert [x["name"] for x in params] == ["b", "a"] and {x["step"] for x in params} == {"create"}
    assert params[0]["env"]["ApiKey"] == KEY


@pytest.mark.parametrize("message, words", [
    ('Error creating container: 400 Client Error for http+docker://localhost/v1.41/containers/create?name=tts: Injected '
     '("Minimum memory limit allowed is 6MB")', "Minimum memory limit allowed is 6MB"),
    ('Error starting container 4f1e: 500 Server Error for http+docker://localhost/v1.41/containers/4f1e/start: Internal Server Error '
     '("driver failed programming external connectivity on endpoint tts: Bind for 0.0.0.0:5099 failed: port is already allocated")',
     "driver failed programming external connectivity on endpoint tts: Bind for 0.0.0.0:5099 failed: port is already allocated"),
    ("Error removing container 4f1e: Connection aborted", "Connection aborted"),
])
def test_a_community_docker_failure_is_named_by_its_step_with_dockers_words(message, words):
    result = {"failed": True, "msg": "One or more items failed",
              "results": [{"failed": False, "item": {"name": "stt", "step": "create"}},
                          {"failed": True, "msg": message + " " + KEY, "item": {"name": "tts", "step": "create", "env": {"ApiKey": KEY}}}]}
    said = FILTERS["speech_step_failure"](result, KEY)
    assert said.startswith("tts: create the new container failed: ")
    assert words in said and KEY not in said


def test_a_failure_of_our_own_module_keeps_its_message():
    assert FILTERS["speech_step_failure"]({"failed": True, "msg": "tts: keep the running container as tts.previous failed: x %s" % KEY}, KEY) \
        == "tts: keep the running container as tts.previous failed: x <hidden>"
    assert FILTERS["speech_previous_steps"](["tts"]) == [{"name": "tts", "target": "tts.previous", "step": "drop_previous"}]


def test_every_community_docker_task_hides_its_result():
    """community.docker.docker_container returns the container's inspect, whose environment holds the key (the faults
    scenario's -vvvv run found it in the result of a stop before this), and docker_login carries the registry password.
    The image modules return an image's inspect and the loaded names, which hold no secret of the run: they stay visible."""
    visible = ("community.docker.docker_image_pull", "community.docker.docker_image_load")
    found = []

    def walk(tasks, where):
        for task in tasks or []:
            for key in ("block", "rescue", "always"):
                walk(task.get(key), where)
            if any(str(k).startswith("community.docker.") and k not in visible for k in task):
                found.append((where, task.get("name"), task.get("no_log")))

    for path in sorted((ROOT / "roles").glob("*/tasks/*.yml")) + sorted((ROOT / "playbooks").glob("**/*.yml")):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, list):
            walk(data if "tasks" not in (data[0] or {}) else [t for play in data for t in play.get("tasks") or []], path.name)
    assert len(found) >= 4
    assert [f for f in found if f[2] is not True] == []
