"""The host's real state wins: every Docker state of a managed container, replaced, restarted and removed, and every
leftover of an interrupted replace, against the fake engine (tests/unit/fixtures/speech/fake_api.py, which answers as
Docker does in each state: a restarting container's rename fails with "sandbox ... not found", a paused one cannot be
started, a removal in progress refuses everything).

Each of these failed before container_ops.settle() and the leftover changes (resume, restore, keep_previous): the
crash-looping container could not be set aside, and a <name>.previous left by an interrupted run was removed by the
next run before any successor was proven ready."""

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import container_ops as ops
from ansible_collections.onprem.speech.plugins.plugin_utils import plan as p
from unit_helpers import load_fixture_module

fake_api = load_fixture_module("fake_api")

KEY = "0123456789abcdef0123456789abcdef"
ENDPOINT = "https://speechdemo.cognitiveservices.azure.com/"
STATES = ("created", "running", "paused", "restarting", "exited", "dead", "removing")


def spec(version="5.1.0", state="started", memory="1g"):
    item = {"name": "tts", "kind": "ntts", "voice": "en-US-AriaNeural", "host_port": 5003, "version": version, "cpus": 0.5,
            "memory": memory, "state": state}
    return p.normalize_plan([item], allow_undersized=True, billing_fp=p.billing_fingerprint(ENDPOINT, KEY))["plan"][0]


def body(s):
    return ops.create_body(s, ENDPOINT, KEY)


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def engine(api):
    clock = Clock()
    return ops.Engine(api, [KEY], sleep=clock.sleep, clock=clock.clock)


def host_with(state, s=None, name="tts", gone_after=3):
    """A host whose managed container `name` (spec s, default 5.1.0) is in one of Docker's states."""
    api = fake_api.FakeAPI()
    s = s or spec()
    api.images[s["image"]] = {"Id": "sha256:" + s["version"], "RepoDigests": []}
    cid = api.add_container(name, s["image"], running=True, labels=s["labels"], port=s["host_port"], image_id="sha256:" + s["version"])
    api.set_state(name, state, gone_after=gone_after)
    return api, cid


def images(api, *specs):
    for s in specs:
        api.images[s["image"]] = {"Id": "sha256:" + s["version"], "RepoDigests": []}


# ------------------------------------------------------------------ every state x replace, restart, remove

@pytest.mark.parametrize("state", STATES)
def test_every_state_can_be_replaced_and_the_previous_one_kept_until_commit(state):
    api, old_id = host_with(state)
    new = spec(version="5.2.0")
    images(api, new)
    actions = ops.apply(engine(api), [{"spec": new, "change": "replace"}], body)
    assert actions == [{"name": "tts", "action": "replaced" if state not in ("dead", "removing") else "created"}]
    assert api.state("tts") == "running" and api.by_name("tts")["Config"]["Image"] == new["image"]
    if state in ("dead", "removing"):
        # Nothing to keep: a dead container cannot serve or start again, and Docker finished removing the other.
        assert api.by_name("tts.previous") is None
    else:
        kept = api.by_name("tts.previous")
        assert kept["Id"] == old_id and api.state("tts.previous") in ("exited", "created")
    ops.commit(engine(api), ["tts"])
    assert api.names() == ["tts"]


@pytest.mark.parametrize("state", STATES)
def test_every_state_is_restarted_to_the_planned_state(state):
    api, _cid = host_with(state)
    actions = ops.apply(engine(api), [{"spec": spec(), "change": "restate"}], body)
    assert api.state("tts") == "running"
    assert actions[0]["action"] in ("started", "created")
    stopped = spec(state="stopped")
    api2, _cid = host_with(state, stopped)
    ops.apply(engine(api2), [{"spec": stopped, "change": "restate"}], body)
    assert api2.state("tts") in ("exited", "created")


@pytest.mark.parametrize("state", STATES)
def test_every_state_is_removed(state):
    api, _cid = host_with(state)
    ops.remove(engine(api), ["tts"])
    assert api.names() == []


def test_a_removal_that_never_ends_fails_naming_the_state_and_changes_nothing():
    api, cid = host_with("removing", gone_after=None)
    with pytest.raises(ops.StepError) as caught:
        ops.apply(engine(api), [{"spec": spec(version="5.2.0"), "change": "replace"}], body)
    assert "state removing" in str(caught.value) and caught.value.step == "settle"
    assert api.by_name("tts")["Id"] == cid and api.steps() == []


def test_a_state_docker_may_add_one_day_fails_that_container_with_its_words_changing_nothing():
    api, cid = host_with("running")
    api.by_name("tts")["State"] = {"Running": False, "Status": "hibernating"}
    with pytest.raises(ops.StepError) as caught:
        ops.apply(engine(api), [{"spec": spec(version="5.2.0"), "change": "replace"}], body)
    assert "'hibernating'" in str(caught.value) and "nothing was changed" in str(caught.value)
    assert api.steps() == []


def test_a_crash_loop_is_stopped_before_it_is_set_aside():
    """The field report: 'keep the running container as tts-aria.previous failed: sandbox ... not found', on every run."""
    api, old_id = host_with("restarting", spec(memory="256m"))
    fixed = spec(memory="1g", version="5.1.0")
    ops.apply(engine(api), [{"spec": fixed, "change": "replace"}], body)
    assert api.steps()[:2] == ["POST /containers/tts/stop", "POST /containers/tts/rename"]
    assert api.state("tts") == "running" and api.by_name("tts.previous")["Id"] == old_id


def test_a_crash_loop_rolled_back_comes_back_as_it_was_and_the_run_fails_named():
    api, old_id = host_with("restarting", spec(memory="256m"))
    new = spec(version="5.2.0")
    images(api, new)
    ops.apply(engine(api), [{"spec": new, "change": "replace"}], body)
    actions, problems = ops.rollback(engine(api), [{"name": "tts", "change": "replace", "previous_id": old_id, "previous_running": True}])
    assert problems == [] and api.by_name("tts")["Id"] == old_id and api.state("tts") == "running"


def test_a_paused_container_is_unpaused_before_it_is_set_aside_so_it_serves_until_its_successor_starts():
    api, old_id = host_with("paused")
    new = spec(version="5.2.0")
    images(api, new)
    ops.apply(engine(api), [{"spec": new, "change": "replace"}], body)
    assert api.steps()[:2] == ["POST /containers/tts/unpause", "POST /containers/tts/rename"]


# ------------------------------------------------------------------ the leftovers of an interrupted replace

def interrupted(successor_state="restarting", previous_state="exited"):
    """What a controller killed mid-replace left: the good container stopped as tts.previous, its successor as tts."""
    good = spec(version="5.1.0")
    bad = spec(version="5.2.0")
    api = fake_api.FakeAPI()
    images(api, good, bad)
    good_id = api.add_container("tts.previous", good["image"], running=False, labels=good["labels"], port=5003, image_id="sha256:5.1.0")
    api.set_state("tts.previous", previous_state)
    bad_id = api.add_container("tts", bad["image"], running=True, labels=bad["labels"], port=5003, image_id="sha256:5.2.0")
    api.set_state("tts", successor_state)
    return api, good, bad, good_id, bad_id


@pytest.mark.parametrize("successor_state", ["restarting", "running", "exited", "created", "paused", "dead"])
def test_the_plan_wanting_the_previous_spec_puts_it_back_instead_of_creating_another(successor_state):
    api, good, _bad, good_id, _bad_id = interrupted(successor_state)
    actions = ops.apply(engine(api), [{"spec": good, "change": "restore"}], body)
    assert actions[0]["action"] == "restored"
    assert api.names() == ["tts"] and api.by_name("tts")["Id"] == good_id and api.state("tts") == "running"
    assert "POST /containers/create" not in api.steps()


@pytest.mark.parametrize("successor_state", ["restarting", "running", "exited", "paused"])
def test_the_plan_wanting_the_successors_spec_resumes_and_keeps_the_previous_until_it_is_ready(successor_state):
    api, _good, bad, good_id, bad_id = interrupted(successor_state)
    ops.apply(engine(api), [{"spec": bad, "change": "resume"}], body)
    assert api.by_name("tts")["Id"] == bad_id and api.state("tts") == "running"
    assert api.by_name("tts.previous")["Id"] == good_id, "the last container proven ready is kept"
    # Not ready: the rollback puts the previous one back, running.
    ops.rollback(engine(api), [{"name": "tts", "change": "resume", "previous_id": good_id, "previous_running": True}])
    assert api.names() == ["tts"] and api.by_name("tts")["Id"] == good_id and api.state("tts") == "running"


@pytest.mark.parametrize("successor_state", ["restarting", "running", "exited", "paused", "dead"])
def test_a_third_spec_replaces_the_unproven_successor_and_keeps_the_previous(successor_state):
    api, _good, _bad, good_id, bad_id = interrupted(successor_state)
    third = spec(version="5.3.0")
    images(api, third)
    ops.apply(engine(api), [{"spec": third, "change": "replace", "keep_previous": True}], body)
    assert api.by_name("tts")["Config"]["Image"] == third["image"] and api.state("tts") == "running"
    assert api.by_name("tts.previous")["Id"] == good_id
    assert bad_id not in [c["Id"] for c in api.containers.values()]
    ops.commit(engine(api), ["tts"])
    assert api.names() == ["tts"]


@pytest.mark.parametrize("previous_state", ["exited", "running", "paused", "restarting"])
def test_a_previous_container_alone_is_taken_back_from_any_state(previous_state):
    api, good, _bad, good_id, bad_id = interrupted(previous_state=previous_state)
    api.containers.pop(bad_id)
    ops.apply(engine(api), [{"spec": good, "change": "restate", "adopt": True}], body)
    assert api.names() == ["tts"] and api.by_name("tts")["Id"] == good_id and api.state("tts") == "running"


def test_no_step_of_any_leftover_change_removes_the_previous_container_before_commit():
    for change, extra in (("resume", {}), ("replace", {"keep_previous": True})):
        api, good, bad, good_id, _bad_id = interrupted()
        images(api, spec(version="5.3.0"))
        target = bad if change == "resume" else spec(version="5.3.0")
        ops.apply(engine(api), [dict({"spec": target, "change": change}, **extra)], body)
        assert not any(step.startswith("DELETE /containers/tts.previous") for step in api.steps()), change
        assert api.by_name("tts.previous")["Id"] == good_id


def test_set_aside_leaves_the_create_stop_start_steps_that_community_docker_runs():
    """The role runs set_aside() in our module and the steps it returns with community.docker.docker_container."""
    api, _cid = host_with("running")
    new = spec(version="5.2.0")
    images(api, new)
    actions, steps = ops.set_aside(engine(api), [{"spec": new, "change": "replace"}])
    assert actions == [{"name": "tts", "action": "replaced"}]
    assert steps == {"create": ["tts"], "stop": [{"name": "tts", "target": "tts.previous", "step": "stop_previous"}],
                     "start": [{"name": "tts", "target": "tts", "step": "start"}]}
    # Set aside, still serving; nothing created yet.
    assert api.by_name("tts") is None and api.running("tts.previous")


def test_set_aside_of_a_restate_and_a_restore_only_leaves_stops_and_starts():
    api, _cid = host_with("running")
    _actions, steps = ops.set_aside(engine(api), [{"spec": spec(state="stopped"), "change": "restate"}])
    assert steps == {"create": [], "stop": [{"name": "tts", "target": "tts", "step": "stop"}], "start": []}
    api2, _cid = host_with("exited", name="tts.previous")
    _actions, steps = ops.set_aside(engine(api2), [{"spec": spec(), "change": "restore"}])
    assert steps == {"create": [], "stop": [], "start": [{"name": "tts", "target": "tts", "step": "restore"}]}
