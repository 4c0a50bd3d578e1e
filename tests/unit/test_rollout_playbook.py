"""site.yml's rollout play, run for real on the controller (local hosts), with the speech_containers role in it stubbed:
what the hosts of a batch are left with when one of them fails.

Ansible's own max_fail_percentage check, once a host of a batch has failed, marks every other host of the batch failed
where it stands (linear.py). The rollout relies on the linear strategy running a task list's tasks in order for every
host first, and a rescue's tasks after them: a healthy host of the batch has finished its rollout before the failed one's
rescue ends, and a second failed host's rollback is never cut short. These tests pin that, with site.yml's own play
(its keywords, its stop check, its report before the batch, its rescue), only the role and the gateway re-enable replaced
by stubs that print each step (replaced, ready, rolled back, put back). One test interrupts a run in its batch.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# The role's shape in a rollout: replace, check, prove ready, note the result; or roll back in several steps and fail.
ROLE_STUB = """
- name: Replace, prove ready, or roll back
  block:
    - name: Replace the containers
      ansible.builtin.debug:
        msg: "MARK {{ inventory_hostname }}.replaced"
      failed_when: inventory_hostname in fail_at_replace

    - name: Wait for the new containers
      ansible.builtin.debug:
        msg: waiting

    - name: Wait long on a slow host
      ansible.builtin.command: sleep 30
      changed_when: false
      when: inventory_hostname in slow_at_ready

    - name: Prove them ready
      ansible.builtin.assert:
        that: inventory_hostname not in fail_at_ready

    - name: Note them ready
      ansible.builtin.debug:
        msg: "MARK {{ inventory_hostname }}.ready"
  rescue:
    - name: Roll back, first step
      ansible.builtin.debug:
        msg: "MARK {{ inventory_hostname }}.rollback-1"

    - name: Roll back, last step
      ansible.builtin.debug:
        msg: "MARK {{ inventory_hostname }}.rollback-2"

    - name: Fail, rolled back
      ansible.builtin.fail:
        msg: "{{ inventory_hostname }} rolled back"
"""


def rollout_playbook(tmp_path):
    """site.yml's rollout play over speech_hosts, the speech_containers role replaced by ROLE_STUB; then a play that
    prints a mark when it runs."""
    plays = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    play = next(p for p in plays if str(p.get("name", "")).startswith("Roll the speech containers out"))
    play["hosts"] = "speech_hosts"
    play["become"] = False
    batch = next(t for t in play["tasks"] if t.get("name") == "Roll this batch out")
    roles = [i for i, t in enumerate(batch["block"])
             if (t.get("ansible.builtin.include_role") or {}).get("name") == "onprem.speech.speech_containers"]
    assert len(roles) == 1, batch["block"]
    (tmp_path / "role_stub.yml").write_text(ROLE_STUB)
    batch["block"][roles[0]] = {"name": batch["block"][roles[0]]["name"], "ansible.builtin.include_tasks": "role_stub.yml"}
    # The host put back in the gateway routes (there are no gateways here), wherever the play does it outside its rescue.
    back = {"name": "Put this host back in the gateway routes", "ansible.builtin.debug": {"msg": "MARK {{ inventory_hostname }}.back"}}
    for tasks in (play["tasks"], batch["block"]):
        tasks[:] = [back if t.get("ansible.builtin.include_tasks") == "tasks/gateway_enable.yml" else t for t in tasks]
    after = {"name": "The play after the rollout", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "Note it ran", "ansible.builtin.debug": {"msg": "MARK next-play"}}]}
    for shared in ("tasks", "templates"):  # found next to the playbook, as site.yml finds them
        (tmp_path / shared).symlink_to(ROOT / "playbooks" / shared)
    path = tmp_path / "rollout.yml"
    path.write_text(yaml.safe_dump([play, after], sort_keys=False))
    return path


def rollout_command(tmp_path, hosts, serial, max_fail, fail_at_replace=(), fail_at_ready=(), slow_at_ready=()):
    """The command and environment that run the rollout play on local hosts; each host passed preflight and is in the
    groups the pull play leaves (so the report reads how far it got)."""
    inventory = tmp_path / "hosts.yml"
    passed = {"preflight_result": {"passed": True, "problems": [], "warnings": []}}
    inventory.write_text(yaml.safe_dump({"all": {"children": {"speech_hosts": {"hosts": {h: passed for h in hosts}},
                                                              "speech_configured": {"hosts": {h: {} for h in hosts}},
                                                              "speech_rollout_changing": {"hosts": {h: {} for h in hosts}}},
                                                 "vars": {"ansible_connection": "local",
                                                          "ansible_python_interpreter": sys.executable}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", PYTHONUNBUFFERED="1")
    return [str(BIN / "ansible-playbook"), "-i", str(inventory), str(rollout_playbook(tmp_path)),
            "-e", "speech_rollout_serial=%s" % serial, "-e", "speech_rollout_max_fail_percentage=%s" % max_fail,
            "-e", "speech_report_dir=%s" % (tmp_path / "report"),
            "-e", json.dumps({"fail_at_replace": list(fail_at_replace), "fail_at_ready": list(fail_at_ready),
                              "slow_at_ready": list(slow_at_ready)})], env


def run_rollout(tmp_path, hosts, serial, max_fail, fail_at_replace=(), fail_at_ready=()):
    command, env = rollout_command(tmp_path, hosts, serial, max_fail, fail_at_replace, fail_at_ready)
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert "ERROR!" not in run.stdout + run.stderr, run.stdout + run.stderr
    # Each step the hosts took, as the stub's debug tasks printed them (no module call: the test stays quick).
    return run, sorted(set(re.findall(r'"MARK ([\w.-]+)"', run.stdout)))


@pytest.mark.parametrize("fail_at", ["replace", "ready"])
def test_a_host_failing_in_a_batch_of_two_leaves_the_other_rolled_out_and_the_next_batch_untouched(tmp_path, fail_at):
    run, marks = run_rollout(tmp_path, ["h1", "h2", "h3"], 2, 0, **{"fail_at_" + fail_at: ["h1"]})
    output = run.stdout + run.stderr
    assert run.returncode == 2, output
    # h1 rolled back whole; h2, its batch's healthy host, replaced and proven ready; h3's batch never started.
    assert "h1.rollback-2" in marks and "h1.ready" not in marks, (marks, output)
    assert {"h2.replaced", "h2.ready", "h2.back"} <= set(marks) and not any(f.startswith("h2.rollback") for f in marks), (marks, output)
    assert "h1.back" not in marks
    assert not any(f.startswith("h3.") for f in marks), (marks, output)
    assert "h1 rolled back" in output
    # The failed host's rescue wrote the report: the run ends with the batch (Ansible stops the playbook there).
    assert "next-play" not in marks
    report = (tmp_path / "report" / "report.md").read_text()
    assert all("| %s |" % host in report for host in ("h1", "h2", "h3")), report


def test_two_hosts_failing_at_different_steps_of_one_batch_both_roll_back_whole(tmp_path):
    run, marks = run_rollout(tmp_path, ["h1", "h2"], 2, 0, fail_at_replace=["h1"], fail_at_ready=["h2"])
    output = run.stdout + run.stderr
    assert run.returncode == 2, output
    for host in ("h1", "h2"):
        assert "%s.rollback-1" % host in marks and "%s.rollback-2" % host in marks, (marks, output)
        assert "%s rolled back" % host in output
    assert "h2.replaced" in marks and "h2.ready" not in marks


def test_one_failed_host_in_each_batch_of_two_is_not_above_half_and_the_rollout_goes_on(tmp_path):
    # serial 2, max_fail 50: one host of two failing is 50 %, not above it, in Ansible's own check (per batch) and in
    # site.yml's before the next batch (over the earlier batches): every batch runs, and the plays after the rollout.
    run, marks = run_rollout(tmp_path, ["h1", "h2", "h3", "h4"], 2, 50, fail_at_ready=["h1", "h3"])
    output = run.stdout + run.stderr
    assert run.returncode == 2, output
    assert {"h2.back", "h4.back", "h1.rollback-2", "h3.rollback-2", "next-play"} <= set(marks), (marks, output)
    assert "The rollout stops" not in output


def test_a_rollout_interrupted_in_a_batch_leaves_the_report_written_before_it(tmp_path):
    # Ctrl-C (SIGINT to the run's process group, as a terminal sends it) while h1's batch waits: no rescue and no later
    # play runs; the report on disk is the one written before h1's batch.
    command, env = rollout_command(tmp_path, ["h1", "h2"], 1, 0, slow_at_ready=["h1"])
    with subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True) as proc:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "Wait long on a slow host" in line:
                time.sleep(2)  # the worker has started h1's sleep
                os.killpg(proc.pid, signal.SIGINT)
                break
        output = "".join(seen) + proc.communicate(timeout=120)[0]
    assert proc.returncode != 0, output
    assert "MARK h1.replaced" in output and "MARK h1.ready" not in output and "MARK next-play" not in output, output
    report = (tmp_path / "report" / "report.md").read_text()
    rows = dict((line.split("|")[1].strip(), line.split("|")[2].strip()) for line in report.splitlines() if line.startswith("| h"))
    assert rows["h1"].startswith("in its rollout batch when this report was written"), report
    assert rows["h2"].startswith("not rolled out"), report
