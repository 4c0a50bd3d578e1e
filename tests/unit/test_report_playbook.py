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
