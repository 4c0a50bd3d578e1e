"""The report playbook, run for real on the controller, lists the hosts that speech_hosts names, as a group or a pattern."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

INVENTORY = """
all:
  children:
    speech_hosts:
      children:
        site_a:
          hosts:
            a1: {}
            a2: {}
        site_b:
          hosts:
            b1: {}
    clients:
      hosts:
        c1: {}
"""


@pytest.mark.parametrize("pattern, expected", [
    ("speech_hosts", ["a1", "a2", "b1"]),
    ("speech_hosts:&site_a", ["a1", "a2"]),
    ("site_b,a2", ["a2", "b1"]),
])
def test_report_rows_follow_the_host_pattern(tmp_path, pattern, expected):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    report = tmp_path / "report"
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    run = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / "report.yml"),
                          "-e", "speech_hosts=%s" % pattern, "-e", "speech_report_dir=%s" % report],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    markdown = (report / "report.md").read_text()
    html = (report / "index.html").read_text()
    for host in ("a1", "a2", "b1", "c1"):
        assert (host in expected) == ("| %s |" % host in markdown), (host, markdown)
        assert (host in expected) == (">%s<" % host in html), host


def test_a_host_pattern_that_is_not_text_is_named_before_anything_runs(tmp_path):
    bad = run_playbook(tmp_path, "report.yml", "-e", '{"speech_hosts": {"site_a": 1}}', "-e", "speech_report_dir=%s" % (tmp_path / "r2"))
    assert bad.returncode != 0
    assert "speech_hosts: give a host pattern" in bad.stdout + bad.stderr
    assert not (tmp_path / "r2").exists()


def run_playbook(tmp_path, playbook, *args):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / playbook)] + list(args),
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False)


def test_limit_reports_the_hosts_the_run_was_limited_to(tmp_path):
    report = tmp_path / "report"
    run = run_playbook(tmp_path, "report.yml", "--limit", "a2", "-e", "speech_report_dir=%s" % report)
    assert run.returncode == 0, run.stdout + run.stderr
    markdown = (report / "report.md").read_text()
    assert "| a2 |" in markdown and "| a1 |" not in markdown and "| b1 |" not in markdown


def test_a_pattern_that_matches_no_host_fails_naming_it_and_keeps_the_last_report(tmp_path):
    report = tmp_path / "report"
    report.mkdir()
    (report / "report.md").write_text("the last report\n")
    run = run_playbook(tmp_path, "site.yml", "-e", "speech_hosts=speech_hostz", "-e", "speech_report_dir=%s" % report)
    assert run.returncode != 0
    assert 'speech_hosts "speech_hostz" matches no host of the inventory' in run.stdout, run.stdout
    assert "clients, site_a, site_b, speech_hosts" in run.stdout
    assert (report / "report.md").read_text() == "the last report\n"


def test_the_report_is_written_readable_and_left_alone_when_its_content_has_not_changed(tmp_path):
    report = tmp_path / "deep" / "report"
    first = run_playbook(tmp_path, "report.yml", "-e", "speech_report_dir=%s" % report)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "changed=0" in first.stdout and "Fleet report: %s/index.html" % report in first.stdout
    stats = {name: (report / name).stat() for name in ("index.html", "report.md")}
    assert {oct(s.st_mode & 0o777) for s in stats.values()} == {"0o644"}
    assert oct(report.stat().st_mode & 0o777) == "0o755"
    second = run_playbook(tmp_path, "report.yml", "-e", "speech_report_dir=%s" % report)
    assert second.returncode == 0, second.stdout + second.stderr
    assert {name: (report / name).stat().st_mtime_ns for name in stats} == {name: s.st_mtime_ns for name, s in stats.items()}
    assert not [p.name for p in report.iterdir() if p.name.startswith(".report-")]


def test_check_mode_writes_no_report_and_still_prints_the_table(tmp_path):
    report = tmp_path / "report"
    run = run_playbook(tmp_path, "report.yml", "--check", "-e", "speech_report_dir=%s" % report)
    assert run.returncode == 0, run.stdout + run.stderr
    assert not report.exists()
    assert "(not written: check mode)" in run.stdout and "a1" in run.stdout


# What the roles leave in hostvars by the rollout play: a1 and a2 passed preflight; a2 was proven ready in the
# steady play; a1 is about to be rolled out; b1 was refused.
PART_INVENTORY = """
all:
  children:
    speech_hosts:
      hosts:
        a1:
          preflight_result: {passed: true}
        a2:
          preflight_result: {passed: true}
          speech_containers_result:
            containers:
              - {name: stt-en, kind: stt, title: speech to text, digest: null, url: "ws://a2:5000", state: started, ready: true,
                 api_status: valid, image: "mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.2.0-amd64-en-us"}
        b1:
          preflight_result: {passed: false, problems: ["speech_containers_list[0].cpus: too many"]}
    speech_configured:
      hosts: {a1: {}, a2: {}}
    speech_rollout_changing:
      hosts: {a1: {}}
    speech_rollout_steady:
      hosts: {a2: {}}
"""

PART_PLAYBOOK = """
- name: A play over part of the run's hosts, as site.yml's rollout is
  hosts: speech_hosts:&speech_rollout_changing
  gather_facts: false
  tasks:
    - name: The report written before a1's batch
      ansible.builtin.import_tasks: %s/playbooks/tasks/fleet_report.yml
      vars:
        speech_report_rolling: "{{ ansible_play_batch }}"
""" % ROOT


def run_part(tmp_path, *args):
    (tmp_path / "hosts.yml").write_text(PART_INVENTORY)
    (tmp_path / "part.yml").write_text(PART_PLAYBOOK)
    # The report's templates, where a play beside site.yml finds them.
    (tmp_path / "templates").symlink_to(ROOT / "playbooks" / "templates")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "part.yml"),
                           "-e", "speech_report_dir=%s" % (tmp_path / "report")] + list(args),
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False)


def report_outcomes(report):
    """Each host's outcome text, from the Markdown report's table."""
    table = (report / "report.md").read_text().split("\n## ")[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ")]
    return {row[0][2:]: row[1] for row in rows if row[0] != "| Host"}


def test_a_report_written_before_a_rollout_batch_shows_every_host_of_the_run_and_the_batch_as_in_its_rollout(tmp_path):
    """The report left on disk when a host is lost in its batch (no rescue runs, and the run stops there). Before,
    a report written in the rollout play listed only that play's hosts: a2 (ready) and b1 (refused) were missing,
    and a1 read "not rolled out"."""
    run = run_part(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    outcomes = report_outcomes(tmp_path / "report")
    assert sorted(outcomes) == ["a1", "a2", "b1"], outcomes
    assert outcomes["a1"].startswith("in its rollout batch when this report was written")
    assert outcomes["a2"] == "every container ready"
    assert outcomes["b1"].startswith("refused by preflight")
    # Written quietly: the table is printed by the report that replaces it.
    assert "HOST " not in run.stdout


def test_a_report_written_in_a_later_play_keeps_to_the_limit(tmp_path):
    run = run_part(tmp_path, "--limit", "a1,b1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(report_outcomes(tmp_path / "report")) == ["a1", "b1"]


def test_under_limit_a_pattern_that_matches_no_limited_host_is_refused(tmp_path):
    """Issue 25 (7): the check runs on all:localhost, so --limit does not skip it (it did on localhost alone: rc 0, nothing done)."""
    nothing = run_playbook(tmp_path, "site.yml", "--limit", "a2", "-e", "speech_hosts=speech_hostz", "-e", "speech_report_dir=%s" % (tmp_path / "r"))
    assert nothing.returncode != 0
    assert 'speech_hosts "speech_hostz" matches no host of the inventory (its groups' in nothing.stdout, nothing.stdout
    elsewhere = run_playbook(tmp_path, "site.yml", "--limit", "a2", "-e", "speech_hosts=site_b", "-e", "speech_report_dir=%s" % (tmp_path / "r"))
    assert elsewhere.returncode != 0
    assert 'speech_hosts "site_b" matches no host of the inventory within --limit "a2"' in elsewhere.stdout, elsewhere.stdout
    assert not (tmp_path / "r").exists()


def test_under_limit_a_pattern_that_matches_goes_on_to_preflight(tmp_path):
    # The host cannot be reached (port 1): what matters is that the check let the run go on to the host.
    run = run_playbook(tmp_path, "site.yml", "--limit", "a2", "-e", "speech_hosts=site_a", "-e", "speech_report_dir=%s" % (tmp_path / "r"),
                       "-e", "ansible_host=127.0.0.1", "-e", "ansible_port=1", "-e", "ansible_connection=ssh")
    assert "matches no host of the inventory" not in run.stdout, run.stdout
    assert "PLAY [Preflight every host" in run.stdout
    assert "a2" in run.stdout.split("PLAY [Preflight every host", 1)[1]
