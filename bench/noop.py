"""What a re-run of site.yml that changes nothing costs, in figures.

    scripts/demo up               (once: a converged demo fleet)
    python3 bench/noop.py         prints the figures
    python3 bench/noop.py --write also writes them into BENCHMARKS.md

Side by side, in one run, on the same demo host:
- a playbook with a single `ping` task (the floor: one module call, with become as site.yml's host plays);
- site.yml on that host (a no-op: it is converged),
each with pipelining off and on: wall time, module calls made on the host, and
the ratio of the two wall times. Then the no-op site.yml on 1, 2 and 3 hosts
(pipelining on). Module calls are counted by a connection plugin that wraps
community.docker.docker and logs every AnsiballZ run (bench/connection_plugins).
Nothing here asserts a time: it prints what it measured.
"""

import argparse
import collections
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "rig"))

import demo  # noqa: E402  pylint: disable=wrong-import-position
import rig  # noqa: E402  pylint: disable=wrong-import-position

PING = """---
- name: The floor, one module call
  hosts: speech_hosts
  gather_facts: false
  become: true
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def bench_inventory(tmp):
    source = demo.DEMO / "inventory.yml"
    if not source.exists() or not all(demo.host_running(name) for name in demo.HOSTS):
        raise SystemExit("No demo fleet: run scripts/demo up first (bench measures a converged fleet).")
    inventory = json.loads(source.read_text())
    for host in inventory["all"]["children"]["speech_hosts"]["hosts"].values():
        host["ansible_connection"] = "counting_docker"
    path = Path(tmp) / "inventory.yml"
    path.write_text(json.dumps(inventory))
    return path


def measure(playbook, inventory, limit, pipelining, tmp):
    calls = Path(tmp) / "calls.log"
    if calls.exists():
        calls.unlink()
    env = rig.tool_env({
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_CONNECTION_PLUGINS": str(HERE / "connection_plugins"),
        "ANSIBLE_PIPELINING": "true" if pipelining else "false",
        "ONPREM_SPEECH_BENCH_CALLS": str(calls),
        "ANSIBLE_FORCE_COLOR": "0",
    })
    cmd = [str(rig.venv_bin("ansible-playbook")), "-i", str(inventory), "--limit", limit, str(playbook),
           "-e", "speech_report_dir=%s" % (Path(tmp) / "report")]
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-2000:])
        raise SystemExit("%s failed (exit %d)" % (playbook.name, proc.returncode))
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", proc.stdout))
    entries = [line.split() for line in calls.read_text().splitlines()] if calls.exists() else []
    per_host = collections.Counter(host for host, _module in entries)
    modules = collections.Counter(module for _host, module in entries)
    return {"wall": wall, "calls": dict(per_host), "modules": dict(modules), "changed": changed}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="write the figures into BENCHMARKS.md")
    args = parser.parse_args(argv)
    site = ROOT / "playbooks" / "site.yml"
    first = list(demo.HOSTS)[0]
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory() as tmp:
        inventory = bench_inventory(tmp)
        ping = Path(tmp) / "ping.yml"
        ping.write_text(PING)
        say("Host: %s (a demo host: systemd container with its own Docker engine, 4 speech containers), connection community.docker.docker" % first)
        say("Machine: %s, %d CPUs, Python %s, ansible-core from requirements.txt" % (platform.machine(), os.cpu_count(), platform.python_version()))
        say("")
        say("| Pipelining | ping: wall | ping: calls | site.yml no-op: wall | site.yml: calls on the host | site.yml: changed | ratio site/ping |")
        say("|---|---|---|---|---|---|---|")
        detail = {}
        for pipelining in (False, True):
            floor = measure(ping, inventory, first, pipelining, tmp)
            noop = measure(site, inventory, first, pipelining, tmp)
            detail[pipelining] = noop
            say("| %s | %.1f s | %d | %.1f s | %d | %d | %.1f x |" % (
                "on" if pipelining else "off", floor["wall"], floor["calls"].get(first, 0), noop["wall"], noop["calls"].get(first, 0),
                noop["changed"], noop["wall"] / floor["wall"]))
        say("")
        say("Module calls of the no-op site.yml on %s, by module: %s" % (
            first, ", ".join("%s %d" % item for item in sorted(detail[True]["modules"].items(), key=lambda kv: -kv[1]))))
        say("")
        say("| Hosts (pipelining on) | site.yml no-op: wall | calls per host |")
        say("|---|---|---|")
        hosts = list(demo.HOSTS)
        for count in (1, 2, 3):
            run = measure(site, inventory, ",".join(hosts[:count]), True, tmp)
            say("| %d | %.1f s | %s |" % (count, run["wall"], ", ".join(str(run["calls"].get(h, 0)) for h in hosts[:count])))
    if args.write:
        path = ROOT / "BENCHMARKS.md"
        text = path.read_text()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        block = "%s\n%s\n%s" % (start, "\n".join(lines), end)
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
        path.write_text(text)
        print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
