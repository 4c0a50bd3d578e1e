"""What a re-run of site.yml that changes nothing costs, in figures.

    scripts/demo up               (once: a converged demo fleet)
    python3 bench/noop.py         prints the figures
    python3 bench/noop.py --write also writes them into BENCHMARKS.md
    python3 bench/noop.py --against REV  also an older revision's site.yml, in turn with this checkout's

Side by side, in one run, on the same demo host:
- a playbook with a single `ping` task (the floor: one module call, with become as site.yml's host plays);
- site.yml on that host (a no-op: it is converged),
each with pipelining off and on: wall time, module calls made on the host, and
the ratio of the two wall times, and the tasks the no-op ran. Each figure is the median of
--repeat runs (default 3), the runs of the things compared taking turns. Then the no-op site.yml
on 1, 2 and 3 hosts (pipelining on). With --against REV, that revision's site.yml (git archive
into a temporary collections path, with this checkout's ansible.cfg) is measured in the same turns. Module calls are counted by a connection plugin that wraps
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


def measure(playbook, inventory, limit, pipelining, tmp, extra_env=None):
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
    env.update(extra_env or {})
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
    return {"wall": wall, "calls": dict(per_host), "modules": dict(modules), "changed": changed,
            "tasks": len(re.findall(r"(?m)^TASK \[", proc.stdout))}


def median_of(runs):
    """The run with the median wall time (its calls and tasks with it), and the walls' range."""
    ordered = sorted(runs, key=lambda run: run["wall"])
    return dict(ordered[len(ordered) // 2], low=ordered[0]["wall"], high=ordered[-1]["wall"])


def export(rev, tmp):
    """The revision's tree as ansible_collections/onprem/speech under tmp; returns (collections path, its site.yml)."""
    target = Path(tmp) / rev / "ansible_collections" / "onprem" / "speech"
    target.mkdir(parents=True)
    archive = Path(tmp) / ("%s.tar" % rev)
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev], check=True)
    subprocess.run(["tar", "-xf", str(archive), "-C", str(target)], check=True)
    return Path(tmp) / rev, target / "playbooks" / "site.yml"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="write the figures into BENCHMARKS.md")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the median is printed (default 3)")
    parser.add_argument("--against", help="also measure this older revision's site.yml (a commit, tag or branch)")
    args = parser.parse_args(argv)
    site = ROOT / "playbooks" / "site.yml"
    first = list(demo.HOSTS)[0]
    repeat = max(1, args.repeat)
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    def spread(run):
        return "%.1f s (%.1f-%.1f)" % (run["wall"], run["low"], run["high"]) if repeat > 1 else "%.1f s" % run["wall"]

    with tempfile.TemporaryDirectory() as tmp:
        inventory = bench_inventory(tmp)
        ping = Path(tmp) / "ping.yml"
        ping.write_text(PING)
        say("Host: %s (a demo host: systemd container with its own Docker engine, 4 speech containers), connection community.docker.docker" % first)
        say("Machine: %s, %d CPUs, Python %s, ansible-core from requirements.txt; each figure the median of %d runs (range in brackets)" % (
            platform.machine(), os.cpu_count(), platform.python_version(), repeat))
        say("")
        say("| Pipelining | ping: wall | ping: calls | site.yml no-op: wall | site.yml: calls on the host | site.yml: tasks | site.yml: changed"
            " | ratio site/ping |")
        say("|---|---|---|---|---|---|---|---|")
        detail = {}
        for pipelining in (False, True):
            floors, noops = [], []
            for _turn in range(repeat):
                floors.append(measure(ping, inventory, first, pipelining, tmp))
                noops.append(measure(site, inventory, first, pipelining, tmp))
            floor, noop = median_of(floors), median_of(noops)
            detail[pipelining] = noop
            say("| %s | %s | %d | %s | %d | %d | %d | %.1f x |" % (
                "on" if pipelining else "off", spread(floor), floor["calls"].get(first, 0), spread(noop), noop["calls"].get(first, 0),
                noop["tasks"], noop["changed"], noop["wall"] / floor["wall"]))
        say("")
        say("Module calls of the no-op site.yml on %s, by module: %s" % (
            first, ", ".join("%s %d" % item for item in sorted(detail[True]["modules"].items(), key=lambda kv: -kv[1]))))
        if args.against:
            old_collections, old_site = export(args.against, tmp)
            old_env = {"ANSIBLE_COLLECTIONS_PATH": str(old_collections)}
            olds, news, floors = [], [], []
            for _turn in range(repeat):
                floors.append(measure(ping, inventory, first, True, tmp))
                olds.append(measure(old_site, inventory, first, True, tmp, old_env))
                news.append(measure(site, inventory, first, True, tmp))
            floor = median_of(floors)
            say("")
            say("| site.yml no-op on %s (pipelining on), in turns | wall | calls | tasks | ratio to the ping floor (%s) |" % (first, spread(floor)))
            say("|---|---|---|---|---|")
            for label, runs in (("%s (--against)" % args.against, olds), ("this checkout", news)):
                run = median_of(runs)
                say("| %s | %s | %d | %d | %.1f x |" % (label, spread(run), run["calls"].get(first, 0), run["tasks"], run["wall"] / floor["wall"]))
        say("")
        say("| Hosts (pipelining on) | site.yml no-op: wall | calls per host |")
        say("|---|---|---|")
        hosts = list(demo.HOSTS)
        for count in (1, 2, 3):
            run = median_of([measure(site, inventory, ",".join(hosts[:count]), True, tmp) for _turn in range(repeat)])
            say("| %d | %s | %s |" % (count, spread(run), ", ".join(str(run["calls"].get(h, 0)) for h in hosts[:count])))
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
