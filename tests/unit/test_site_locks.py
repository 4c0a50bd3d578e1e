"""site.yml gives back every lock it took: a play that a locked host can reach (the configure, pull, steady and rollout
plays) and that fails the host in a rescue gives the lock back in that rescue first, since a failed host runs no later
play, and so not the last play that gives back the others. The steady play did not (a host configured or pulled on, then
found steady, that failed readiness kept its lock until a later run took it over): this test fails on the code before."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1].parent
LOCKED_REACHES = ("speech_converge_changing", "speech_rollout_steady", "speech_rollout_changing")


def rescues(tasks):
    for task in tasks or []:
        if "rescue" in task:
            yield task["rescue"]
        for key in ("block", "rescue", "always"):
            yield from rescues(task.get(key))


def test_every_rescue_that_fails_a_locked_host_gives_its_lock_back_first():
    plays = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    checked = []
    for play in plays:
        hosts = str(play.get("hosts") or "")
        if not any("&" + group in hosts for group in LOCKED_REACHES):
            continue
        for rescue in rescues(play.get("tasks")):
            failing = [i for i, t in enumerate(rescue) if "ansible.builtin.fail" in t]
            if not failing:
                continue
            released = [i for i, t in enumerate(rescue) if "lock_release.yml" in str(t.get("ansible.builtin.include_tasks", ""))]
            checked.append(play["name"])
            assert released and released[0] < failing[0], "%s: a rescue fails the host without giving its lock back" % play["name"]
    assert len(set(checked)) >= 4, checked
