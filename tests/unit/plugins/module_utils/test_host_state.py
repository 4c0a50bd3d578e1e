"""What the collection keeps on a host (module_utils/host_state.py) and the host's guard (module_utils/guard.py)."""

import json
import os
import stat
import time

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import container_ops as ops
from ansible_collections.onprem.speech.plugins.module_utils import guard, host_state
from unit_helpers import load_fixture_module

fake_api = load_fixture_module("fake_api")


def holder(run="r1", started=None, **more):
    return dict({"run": run, "controller": "ctl", "user": "alice", "pid": 4242, "started": started or time.time(),
                 "started_at": "2026-12-07T10:00:00Z", "playbook": "site.yml"}, **more)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------------ the lock

def test_one_run_at_a_time_and_the_second_is_told_the_holder(tmp_path):
    state = str(tmp_path / "state")
    assert host_state.acquire(state, holder("r1"), 3600)["taken_over"] is None
    with pytest.raises(host_state.LockHeld) as caught:
        host_state.acquire(state, holder("r2", user="bob"), 3600)
    assert caught.value.holder["run"] == "r1" and "alice@ctl (process 4242, playbook site.yml" in str(caught.value)
    # The same run again (another play, another role) holds it already.
    assert host_state.acquire(state, holder("r1"), 3600)["held"]["run"] == "r1"
    assert mode(state) == 0o700 and mode(os.path.join(state, "lock.json")) == 0o600


def test_a_stale_lock_is_taken_over_and_says_why(tmp_path):
    state = str(tmp_path / "state")
    host_state.acquire(state, holder("old", started=time.time() - 10000), 3600)
    taken = host_state.acquire(state, holder("new"), 3600)
    assert taken["taken_over"]["run"] == "old" and "more than 3600 s ago" in taken["why"]
    assert host_state.lock_holder(state)["run"] == "new"


def test_a_lock_whose_holder_is_gone_or_broken_by_the_operator_is_taken_over_by_name(tmp_path):
    state = str(tmp_path / "state")
    host_state.acquire(state, holder("dead-run"), 3600)
    # Another run's name does not break it.
    with pytest.raises(host_state.LockHeld):
        host_state.acquire(state, holder("new"), 3600, take_over={"run": "someone-else", "why": "x"})
    taken = host_state.acquire(state, holder("new"), 3600, take_over={"run": "dead-run", "why": "its process 4242 no longer runs"})
    assert taken["why"] == "its process 4242 no longer runs"


def test_release_only_by_its_holder(tmp_path):
    state = str(tmp_path / "state")
    host_state.acquire(state, holder("r1"), 3600)
    assert host_state.release(state, "r2") is False and host_state.lock_holder(state)["run"] == "r1"
    assert host_state.release(state, "r1") is True and host_state.lock_holder(state) is None


def test_two_processes_racing_for_the_lock_one_wins(tmp_path):
    state = str(tmp_path / "state")
    host_state.ensure_dir(state)
    children = []
    for run in ("a", "b", "c", "d"):
        pid = os.fork()
        if pid == 0:
            try:
                host_state.acquire(state, holder(run), 3600)
                os._exit(0)
            except host_state.LockHeld:
                os._exit(3)
            except BaseException:  # noqa: BLE001
                os._exit(1)
        children.append(pid)
    codes = sorted(os.waitpid(pid, 0)[1] >> 8 for pid in children)
    assert codes == [0, 3, 3, 3]


# ------------------------------------------------------------------ the journal and the ready record

def test_the_journal_is_root_only_and_keeps_its_last_entries(tmp_path):
    state = str(tmp_path / "state")
    for index in range(8):
        host_state.journal_append(state, {"by": "run", "run": "r%d" % index, "changes": ["tts: replaced (cpus 0.25 -> 0.5)"]})
    assert mode(os.path.join(state, "journal.jsonl")) == 0o600
    tail = host_state.journal_tail(state)
    assert [e["run"] for e in tail] == ["r3", "r4", "r5", "r6", "r7"] and all(e["at"].endswith("Z") for e in tail)


def test_the_ready_record_and_what_a_look_reads(tmp_path):
    state = str(tmp_path / "state")
    assert host_state.summary(state) == {"lock": None, "ready": {}, "guards": [], "journal": []}
    host_state.record_ready(state, {"tts": {"id": "abc"}}, run="r1")
    host_state.acquire(state, holder("r1"), 3600)
    found = host_state.summary(state)
    assert found["ready"]["tts"]["id"] == "abc" and found["ready"]["tts"]["run"] == "r1" and found["lock"]["run"] == "r1"


# ------------------------------------------------------------------ the guard

def replaced_host():
    """tts replaced by this run: its successor runs (never proven ready), the previous one is stopped as tts.previous."""
    api = fake_api.FakeAPI()
    api.images["img:5.1"] = {"Id": "sha256:old", "RepoDigests": []}
    old_id = api.add_container("tts.previous", "img:5.1", running=False, labels={"onprem.speech.managed": "true"}, port=5003)
    api.add_container("tts", "img:5.2", running=True, labels={"onprem.speech.managed": "true"}, port=5003)
    api.set_state("tts", "restarting")
    return api, old_id


class Clock(object):
    def __init__(self, start=1000.0):
        self.now = start

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_a_guard_no_run_disarms_puts_the_previous_container_back_by_itself_and_says_so(tmp_path):
    state = str(tmp_path / "state")
    api, old_id = replaced_host()
    clock = Clock()
    guard.arm(state, "r1", [{"name": "tts", "previous_id": old_id, "previous_running": True}], 300, "unix:///x", now=clock.clock)
    entry = guard.watch(state, "r1", ops.Engine(api, []), clock=clock.clock, sleep=clock.sleep)
    assert clock.now >= 1300.0, "it waited for its deadline"
    assert api.names() == ["tts"] and api.by_name("tts")["Id"] == old_id and api.state("tts") == "running"
    assert entry["by"] == "guard" and entry["result"] == "put back" and "within 300 s" in entry["why"]
    assert host_state.journal_tail(state)[-1]["containers"] == ["tts"]
    assert host_state.summary(state)["guards"] == []
    # The run, if it comes back, is told: its commit must not say the successor serves.
    assert guard.disarm(state, "r1", ["tts"]) == [] and guard.fired(state, "r1", ["tts"])


def test_a_guard_disarmed_in_time_does_nothing(tmp_path):
    state = str(tmp_path / "state")
    api, old_id = replaced_host()
    clock = Clock()
    guard.arm(state, "r1", [{"name": "tts", "previous_id": old_id}], 300, "unix:///x", now=clock.clock)

    def sleep(seconds):
        clock.sleep(seconds)
        if clock.now > 1100:
            assert guard.disarm(state, "r1", ["tts"]) == ["tts"]

    assert guard.watch(state, "r1", ops.Engine(api, []), clock=clock.clock, sleep=sleep) is None
    assert api.by_name("tts.previous")["Id"] == old_id and host_state.journal_tail(state) == []


def test_the_guard_file_is_root_only_and_names_no_secret(tmp_path):
    state = str(tmp_path / "state")
    path = guard.arm(state, "ctl:4242:1", [{"name": "tts", "previous_id": "abc"}], 60, "unix:///var/run/docker.sock")
    assert mode(path) == 0o600
    assert sorted(json.loads(open(path).read())) == ["armed_at", "deadline", "docker_host", "items", "run"]


def test_the_guard_process_outlives_its_caller_and_its_streams(tmp_path):
    """spawn() returns at once; the detached process runs on, with its own session, and writes where it is told."""
    marker = tmp_path / "marker"

    def target():
        time.sleep(0.3)
        marker.write_text("%d %d" % (os.getpid(), os.getsid(0)))

    started = time.time()
    guard.spawn(target)
    assert time.time() - started < 0.3
    for _attempt in range(50):
        if marker.exists() and marker.read_text():
            break
        time.sleep(0.1)
    pid, sid = (int(x) for x in marker.read_text().split())
    assert pid != os.getpid() and sid != os.getsid(0), "a session of its own, not its caller's"
