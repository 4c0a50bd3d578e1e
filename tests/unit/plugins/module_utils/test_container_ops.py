"""A replace is a transaction: each step made to fail in turn, and what served before serves again.

The engine is tests/unit/fixtures/speech/fake_api.py (names, renames, port bindings at start,
faults injected per request); the Molecule scenario speech_containers_faults does the same on a
real engine. Each of these tests fails on the shell steps of 0.1.0 (docker stop/rename through
the CLI, failures hidden by failed_when: false)."""

import json
import os

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import container_ops as ops
from ansible_collections.onprem.speech.plugins.plugin_utils import plan as p
from unit_helpers import load_fixture_module

fake_api = load_fixture_module("fake_api")

KEY = "0123456789abcdef0123456789abcdef"
ENDPOINT = "https://speechdemo.cognitiveservices.azure.com/"


def spec(name="stt", port=5000, version="5.1.0", **extra):
    item = dict({"name": name, "kind": "stt", "host_port": port, "version": version, "cpus": 0.5, "memory": "1g"}, **extra)
    return p.normalize_plan([item], allow_undersized=True, billing_fp=p.billing_fingerprint(ENDPOINT, KEY))["plan"][0]


def engine_with(api):
    return ops.Engine(api, [KEY])


def body_of(s):
    return ops.create_body(s, ENDPOINT, KEY)


def setup_running(api, old):
    """The host before the run: `old` running from its image."""
    api.images[old["image"]] = {"Id": "sha256:old", "RepoDigests": []}
    return api.add_container(old["name"], old["image"], running=True, labels=old["labels"], port=old["host_port"])


def replace(api, new, previous_id):
    api.images[new["image"]] = {"Id": "sha256:new", "RepoDigests": []}
    items = [{"spec": dict(new), "change": "replace"}]
    rollback_items = [{"name": new["name"], "change": "replace", "previous_id": previous_id, "previous_running": True}]
    return items, rollback_items


def serving(api, name, container_id):
    """The container that ran before runs again under its own name."""
    found = api.by_name(name)
    return found is not None and found["Id"] == container_id and found["State"]["Running"]


def test_replace_keeps_the_old_container_serving_until_its_successor_is_created():
    api = fake_api.FakeAPI()
    old_id = setup_running(api, spec())
    items, _body = replace(api, spec(version="5.2.0"), old_id)
    actions = ops.apply(engine_with(api), items, body_of)
    assert actions == [{"name": "stt", "action": "replaced"}]
    assert api.steps() == ["POST /containers/stt/rename", "POST /containers/create", "POST /containers/stt.previous/stop",
                           "POST /containers/stt/start"], "rename (still serving), create, then stop the old and start the new"
    assert api.running("stt") and not api.running("stt.previous") and api.by_name("stt.previous")["Id"] == old_id
    ops.commit(engine_with(api), ["stt"])
    assert api.names() == ["stt"] and api.by_name("stt")["Id"] != old_id


@pytest.mark.parametrize("step, method, path, message", [
    ("set_aside", "POST", r"/containers/stt/rename", "Error when allocating new name: injected"),
    ("create", "POST", r"/containers/create", "Minimum memory limit allowed is 6MB"),
    ("stop_previous", "POST", r"/containers/stt\.previous/stop", "cannot stop container: permission denied"),
    ("start", "POST", r"/containers/stt/start", "Bind for 10.9.9.9:5000 failed: cannot assign requested address"),
])
def test_each_step_of_apply_fails_named_and_the_rollback_restores_the_previous_container(step, method, path, message):
    api = fake_api.FakeAPI()
    old_id = setup_running(api, spec())
    items, rollback_items = replace(api, spec(version="5.2.0"), old_id)
    api.fail(method, path, 500, message + " ApiKey=" + KEY, times=1)
    with pytest.raises(ops.StepError) as caught:
        ops.apply(engine_with(api), items, body_of)
    error = caught.value
    assert error.step == step and error.name == "stt"
    assert message in str(error) and KEY not in str(error) and "<hidden>" in str(error)
    actions, problems = ops.rollback(engine_with(api), rollback_items)
    assert problems == []
    assert serving(api, "stt", old_id), (step, api.names(), actions)
    assert api.names() == ["stt"], "nothing left behind: no successor, no stt.previous"


def test_a_failed_drop_of_the_previous_container_is_rolled_back_too():
    api = fake_api.FakeAPI()
    old_id = setup_running(api, spec())
    items, rollback_items = replace(api, spec(version="5.2.0"), old_id)
    ops.apply(engine_with(api), items, body_of)
    api.fail("DELETE", r"/containers/stt\.previous", 500, "driver error: injected", times=1)
    with pytest.raises(ops.StepError) as caught:
        ops.commit(engine_with(api), ["stt"])
    assert caught.value.step == "drop_previous" and "driver error: injected" in str(caught.value)
    ops.rollback(engine_with(api), rollback_items)
    assert serving(api, "stt", old_id) and api.names() == ["stt"]


def test_a_failed_restore_rename_still_starts_the_previous_container_under_its_kept_name():
    api = fake_api.FakeAPI()
    old_id = setup_running(api, spec())
    items, rollback_items = replace(api, spec(version="5.2.0"), old_id)
    ops.apply(engine_with(api), items, body_of)
    api.fail("POST", r"/containers/stt\.previous/rename", 500, "rename refused: injected")
    actions, problems = ops.rollback(engine_with(api), rollback_items)
    assert problems == []
    assert {"name": "stt", "action": "restore failed", "detail": "rename refused: injected"} in actions
    assert api.running("stt.previous") and api.by_name("stt.previous")["Id"] == old_id, "it serves, under stt.previous"
    # The next run takes it back (plan_changes marks it `adopt`).
    new = spec(version="5.2.0")
    info = {"containers": [{"name": "stt.previous", "id": old_id, "running": True, "spec_hash": spec()["spec_hash"],
                            "image_id": "sha256:old", "labels": spec()["labels"]}],
            "images": {new["image"]: {"present": True, "id": "sha256:new"}}}
    changes = p.plan_changes([new], info)
    assert changes["apply"][0]["adopt"] and changes["replace"] == ["stt"] and changes["absent"] == []
    api.faults = []
    ops.apply(engine_with(api), [{"spec": changes["apply"][0], "change": "replace", "adopt": True}], body_of)
    assert api.running("stt") and api.by_name("stt.previous")["Id"] == old_id


def test_rollback_twice_is_harmless_and_new_containers_are_removed():
    api = fake_api.FakeAPI()
    old_id = setup_running(api, spec())
    new_lid = spec(name="lid2", port=5001)
    api.images[new_lid["image"]] = {"Id": "sha256:x", "RepoDigests": []}
    items, rollback_items = replace(api, spec(version="5.2.0"), old_id)
    items.append({"spec": new_lid, "change": "new"})
    rollback_items.append({"name": "lid2", "change": "new", "previous_id": None, "previous_running": False})
    ops.apply(engine_with(api), items, body_of)
    for _attempt in range(2):
        actions, problems = ops.rollback(engine_with(api), rollback_items)
        assert problems == []
    assert serving(api, "stt", old_id) and api.names() == ["stt"]


def test_a_container_the_run_started_is_left_running_and_said_so():
    api = fake_api.FakeAPI()
    s = spec()
    api.images[s["image"]] = {"Id": "sha256:old", "RepoDigests": []}
    cid = api.add_container("stt", s["image"], running=False, labels=s["labels"])
    ops.apply(engine_with(api), [{"spec": s, "change": "restate"}], body_of)
    actions, problems = ops.rollback(engine_with(api), [{"name": "stt", "change": "restate", "previous_id": cid, "previous_running": False}])
    assert api.running("stt")
    assert actions == [{"name": "stt", "action": "left running",
                        "detail": "it was stopped before this run; stopping it again would serve nobody"}]


def test_a_container_stopped_by_the_run_is_started_again():
    api = fake_api.FakeAPI()
    s = spec(state="stopped")
    api.images[s["image"]] = {"Id": "sha256:old", "RepoDigests": []}
    cid = api.add_container("stt", s["image"], running=True, labels=s["labels"])
    ops.apply(engine_with(api), [{"spec": s, "change": "restate"}], body_of)
    assert not api.running("stt")
    ops.rollback(engine_with(api), [{"name": "stt", "change": "restate", "previous_id": cid, "previous_running": True}])
    assert api.running("stt")


def test_the_key_goes_in_the_environment_not_the_arguments():
    s = spec()
    body = ops.create_body(s, ENDPOINT, KEY, secret_env={"HTTP_PROXY_CREDS": "user:pw-secret"})
    assert KEY not in json.dumps(body["Cmd"]) and "ApiKey=" + KEY in body["Env"] and "HTTP_PROXY_CREDS=user:pw-secret" in body["Env"]
    assert body["HostConfig"]["NanoCpus"] == 500000000 and body["HostConfig"]["Memory"] == 1024 ** 3
    assert body["HostConfig"]["PortBindings"] == {"5000/tcp": [{"HostIp": "", "HostPort": "5000"}]}
    assert body["HostConfig"]["RestartPolicy"] == {"Name": "unless-stopped"}
    assert KEY not in json.dumps(body["Labels"]) and "pw-secret" not in json.dumps(body["Labels"])
    args = ops.create_body(s, ENDPOINT, KEY, billing_in="args")
    assert args["Cmd"][:3] == ["Eula=accept", "Billing=" + ENDPOINT, "ApiKey=" + KEY] and not [e for e in args["Env"] if e.startswith("ApiKey=")]


def test_the_licence_marker_is_written_only_when_the_download_exited_0(tmp_path):
    s = p.normalize_plan([{"name": "tts", "kind": "ntts", "host_port": 5001, "disconnected": True, "cpus": 0.5, "memory": "1g"}],
                         allow_undersized=True, data_dir=str(tmp_path))["plan"][0]
    (tmp_path / "tts" / "license").mkdir(parents=True)
    api = fake_api.FakeAPI()
    api.images[s["image"]] = {"Id": "sha256:tts", "RepoDigests": []}
    api.exit_codes["tts-license"] = (1, "ContainerUseUnauthorized: the key is not approved for disconnected containers ApiKey=%s\n" % KEY)
    body = ops.create_body(s, ENDPOINT, KEY, mode="license")
    with pytest.raises(ops.StepError) as caught:
        ops.fetch_license(engine_with(api), s, body, 30)
    assert "exited 1" in str(caught.value) and "not approved for disconnected" in str(caught.value) and KEY not in str(caught.value)
    assert not os.path.exists(ops.license_marker(s)) and api.names() == [], "no marker, no leftover helper container"
    api.exit_codes["tts-license"] = (0, "licence written\n")
    ops.fetch_license(engine_with(api), s, body, 30)
    assert open(ops.license_marker(s)).read() == s["image"] + "\n"


def test_remove_takes_only_managed_containers_and_their_kept_copies():
    api = fake_api.FakeAPI()
    api.add_container("stt", labels={ops.LABEL_MANAGED: "true"})
    api.add_container("stt.previous", labels={ops.LABEL_MANAGED: "true"}, running=False)
    api.add_container("other", labels={})
    actions = ops.remove(engine_with(api), ["stt", "other"])
    assert [a["name"] for a in actions] == ["stt", "stt.previous"] and api.names() == ["other"]


def test_check_mode_changes_nothing():
    api = fake_api.FakeAPI()
    old_id = setup_running(api, spec())
    items, rollback_items = replace(api, spec(version="5.2.0"), old_id)
    assert ops.apply(engine_with(api), items, body_of, check_mode=True) == [{"name": "stt", "action": "replace"}]
    assert api.steps() == [] and serving(api, "stt", old_id)
