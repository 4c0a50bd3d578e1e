"""What site.yml costs across a fleet, in figures: 1, 4 and 8 hosts, the ping floor,
a Docker-only role, and a rollout where k of N hosts change.

    scripts/demo up                 (once: the converged demo fleet, speech-demo-1..3)
    python3 bench/fleet.py          builds speech-bench-4..8, converges them, prints the figures, removes them
    python3 bench/fleet.py --hosts 1,2 --k 1    a small run (no extra host: the demo's three suffice)
    python3 bench/fleet.py --keep   leaves the bench hosts (a later run skips their first converge)
    python3 bench/fleet.py --down   removes the bench hosts
    python3 bench/fleet.py --write  also writes the figures into BENCHMARKS.md (between the fleet markers)
    python3 bench/fleet.py --against REV [--rounds 3]   also REV's no-op on each fleet size, and its rollout there and
                                    back, in turns with this checkout's
    python3 bench/fleet.py --forks 5,25 [--rounds 3]   also the ping floor and the no-op at each forks setting
                                    (Ansible's default, the example project's), in turns

The fleet is the demo's hosts, then speech-bench-4..8 (same host image and run
options as the demo's, made by demo.start_hosts, fixed addresses 172.30.0.24-28
on the rig's network). Bench hosts are converged by one site.yml run, timed.
Then, in one run and with pipelining on:
- the floor: a playbook with a single ping task (become), on 1, 4 and 8 hosts (what
  the machine itself costs for more hosts: on this rig every host shares its cores);
- the task floor: a playbook of as many tasks as the no-op ran, each skipped (`when: false`),
  on the same hosts (what Ansible's controller costs per task and host, before our templating
  and module calls);
- site.yml as a no-op on 1, 4 and 8 hosts;
- geerlingguy.docker (bench/vendor, a widely used role that only installs Docker)
  as a no-op on the same first host, set to the engine the host has;
- a rollout on N hosts where the last k get a changed container (a log_level),
  then the same rollout changing them back;
- with --against, an older revision's no-op and this checkout's, in turns, on each fleet size, and
  (with --k) the older revision's rollout there and back and this checkout's, in turns;
- with --forks, the ping floor and the no-op at each forks setting, in turns, on each fleet size;
each with its wall time, the module calls on each host (counted by
bench/connection_plugins/counting_docker.py), its CPU seconds (the main process's from
bench/callback_plugins/cpu_seconds.py, the whole controller's from wait4, the machine's from
/proc/stat), the seconds before the first play
(the controller starting) and each play's seconds (from the time each PLAY line
is printed). Nothing is asserted: figures are printed.
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
import noop  # noqa: E402  pylint: disable=wrong-import-position

# The fleet beyond the demo's three hosts: fixed addresses in the lower half of the rig's network
# (support.py: Docker hands out the upper half itself).
BENCH_HOSTS = dict(("speech-bench-%d" % n, "172.30.0.%d" % (20 + n)) for n in range(4, 9))
BENCH_LABEL = "onprem.speech.bench=true"
MAX_HOSTS = len(demo.HOSTS) + len(BENCH_HOSTS)
VENDOR = HERE / "vendor"

PING = noop.PING  # the floor, the same playbook as noop.py's

# Ansible's own cost for as many tasks as the no-op ran, each skipped on every host: what any playbook of
# that many tasks costs the controller, before a task templates anything or calls a module.
TASK_FLOOR = """---
- name: As many tasks as the no-op site.yml ran, each skipped
  hosts: speech_hosts
  gather_facts: false
  become: true
  tasks:
%s
"""
TASK_FLOOR_TASK = """    - name: Skipped task %d
      ansible.builtin.debug:
        msg: skipped
      when: false
"""
TASK_FLOOR_RUN = "skipped tasks (the task floor)"


def task_floor(tasks):
    return TASK_FLOOR % "".join(TASK_FLOOR_TASK % n for n in range(1, tasks + 1))


DOCKER_ONLY = """---
- name: geerlingguy.docker on a host whose engine is installed
  hosts: speech_hosts
  become: true
  # The role reads the distribution, os_family and architecture from Ansible's facts.
  gather_facts: true
  roles:
    - role: geerlingguy.docker
"""

# geerlingguy.docker pointed at what the host has (Debian's docker.io, installed by onprem.speech.docker):
# as extra variables, because the role's include_vars (vars/Debian.yml) outranks inventory and play vars.
DOCKER_ONLY_VARS = {
    "docker_packages": ["docker.io"],
    # Its Debian list less docker.io and what docker.io depends on (containerd, runc): it would remove the engine.
    "docker_obsolete_packages": ["docker", "docker-engine", "docker-doc", "docker-compose", "docker-compose-v2", "podman-docker"],
    "docker_install_compose_plugin": False,
    # Docker's repository cannot be reached here; the engine comes from Debian.
    "docker_add_repo": False,
    # daemon.json is onprem.speech.docker's (the role would rewrite it in its own format and restart the engine).
    "docker_daemon_options": {},
    "docker_users": [],
}

# Short names for site.yml's plays (by the start of their names), in the order they run.
PLAYS = [
    ("Check the host pattern", "pattern"),
    ("Preflight", "preflight"),
    ("Check the gateways", "gateway check"),
    ("Stop everything", "refusal gate"),
    ("Compare every host", "compare"),
    ("Install and configure Docker", "docker + gstreamer"),
    ("Pull", "pull"),
    ("Install and configure the gateways", "gateways"),
    ("Prove the hosts with nothing to change", "steady"),
    ("Roll the speech containers", "rollout"),
    ("Read the gateways", "gateway servers"),
    ("Summarise the fleet", "report"),
]
ROLLOUT = "rollout"

PLAY_LINE = re.compile(r"^PLAY \[(.*)\] \*+\s*$")
RESULT_LINE = re.compile(r"^(ok|changed|skipping|fatal|failed|rescued|ignored): \[([^\]]+)\]")
INCLUDED_LINE = re.compile(r"^included: .* for (.+)$")
RECAP_LINE = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def log(msg):
    print("[bench] " + msg, flush=True)


def fleet(count):
    """The first `count` hosts of the fleet: the demo's, then the bench hosts."""
    return (list(demo.HOSTS) + list(BENCH_HOSTS))[:count]


def bench_hosts_up():
    return [name for name in BENCH_HOSTS if demo.host_running(name)]


def start_bench_hosts(names):
    """Start the bench hosts among `names` that are not running; returns those it started."""
    wanted = dict((name, ip) for name, ip in BENCH_HOSTS.items() if name in names)
    new = [name for name in wanted if not demo.host_running(name)]
    if new:
        log("starting %s (host image and options of the demo's hosts)" % ", ".join(new))
        demo.start_hosts({"network": demo.support.NETWORK, "dns_ip": demo.support.DNS_IP}, hosts=wanted, label=BENCH_LABEL)
    return new


def remove_bench_hosts():
    found = subprocess.run(["docker", "ps", "-a", "-q", "--filter", "label=" + BENCH_LABEL], capture_output=True, text=True, check=False)
    names = sorted(set(BENCH_HOSTS) | set(found.stdout.split()))
    for name in names:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)
    log("removed the bench hosts (%s)" % ", ".join(sorted(BENCH_HOSTS)))


def write_inventory(path, names, changed_plan=None, changed_hosts=()):
    """The demo's inventory with the bench hosts added, every host on the counting connection.

    changed_plan: speech_containers_list given as a host variable to changed_hosts (the k of a rollout)."""
    source = demo.DEMO / "inventory.yml"
    inventory = json.loads(source.read_text())
    group = inventory["all"]["children"]["speech_hosts"]
    hosts = group["hosts"]
    for name, ip in BENCH_HOSTS.items():
        if name in names:
            hosts[name] = {"ansible_connection": "community.docker.docker", "ansible_host": name, "speech_containers_client_host": ip}
    for name, host in hosts.items():
        host["ansible_connection"] = "counting_docker"
        if name in changed_hosts:
            host["speech_containers_list"] = changed_plan
    path.write_text(json.dumps(inventory))
    path.chmod(0o600)
    return path


def changed_plan(plan):
    """The plan with one container's setting changed: a log_level it does not have yet (its spec changes, it is replaced)."""
    plan = json.loads(json.dumps(plan))
    current = plan[0].get("log_level")
    plan[0]["log_level"] = "Warning" if current != "Warning" else "Error"
    return plan


class Run:
    """One ansible-playbook run: its wall time, module calls per host, changed per host, and its plays as printed."""

    def __init__(self, wall, calls, modules, changed, plays, cpu=None):
        self.wall = wall
        self.cpu = cpu or {}
        self.calls = calls
        self.modules = modules
        self.changed = changed
        self.plays = plays

    @property
    def startup(self):
        return self.plays[0]["start"] if self.plays else self.wall

    def play_seconds(self):
        """[(name, seconds, module calls, tasks, hosts, changed hosts)] per PLAY line (a serial play prints one per batch); the last ends with the process."""
        out = []
        total = sum(self.calls.values())
        for i, play in enumerate(self.plays):
            end, calls_end = (self.plays[i + 1]["start"], self.plays[i + 1]["calls"]) if i + 1 < len(self.plays) else (self.wall, total)
            out.append((play["name"], end - play["start"], calls_end - play["calls"], play["tasks"], play["hosts"], play["changed"]))
        return out

    def by_stage(self):
        """{stage: [seconds, module calls, tasks]} over site.yml's plays, the batches of a serial play added up."""
        stages = collections.OrderedDict((label, [0.0, 0, 0]) for _prefix, label in PLAYS)
        for name, secs, calls, tasks, _hosts, _changed in self.play_seconds():
            stage = stages.setdefault(short(name), [0.0, 0, 0])
            stage[0] += secs
            stage[1] += calls
            stage[2] += tasks
        return stages

    def batches(self):
        return [(hosts, changed, secs, calls) for name, secs, calls, _tasks, hosts, changed in self.play_seconds() if short(name) == ROLLOUT]


def short(name):
    for prefix, label in PLAYS:
        if name.startswith(prefix):
            return label
    return name


def playbook_run(playbook, inventory, limit, tmp, label, extra=(), env_extra=None):
    calls = Path(tmp) / "calls.log"
    cpu_file = Path(tmp) / "cpu.json"
    for stale in (calls, cpu_file):
        if stale.exists():
            stale.unlink()
    env = rig.tool_env(dict({
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_CONNECTION_PLUGINS": str(HERE / "connection_plugins"),
        "ANSIBLE_CALLBACK_PLUGINS": str(HERE / "callback_plugins"),
        "ANSIBLE_PIPELINING": "true",
        "ONPREM_SPEECH_BENCH_CALLS": str(calls),
        "ONPREM_SPEECH_BENCH_CPU": str(cpu_file),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "PYTHONUNBUFFERED": "1",
    }, **(env_extra or {})))
    cmd = [str(rig.venv_bin("ansible-playbook")), "-i", str(inventory), "--limit", limit, str(playbook),
           "-e", "speech_report_dir=%s" % (Path(tmp) / "report")] + list(extra)
    output = Path(tmp) / ("%s.log" % re.sub(r"[^\w.-]+", "-", label))
    plays = []
    machine_before = machine_cpu()
    started = time.monotonic()
    with open(output, "w") as fh, subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                   text=True, errors="replace") as proc:
        for line in proc.stdout:
            now = time.monotonic() - started
            fh.write(line)
            found = PLAY_LINE.match(line)
            if found:
                # Every call of the plays before has been logged by now (a play starts when the last one's tasks are done).
                plays.append({"name": found.group(1), "start": now, "calls": count_lines(calls), "tasks": 0,
                              "hosts": set(), "changed": set()})
                continue
            if not plays:
                continue
            if line.startswith("TASK ["):
                plays[-1]["tasks"] += 1
                continue
            found = RESULT_LINE.match(line)
            if found:
                host = found.group(2).split(" -> ")[0]
                plays[-1]["hosts"].add(host)
                if found.group(1) == "changed":
                    plays[-1]["changed"].add(host)
                continue
            found = INCLUDED_LINE.match(line.strip())
            if found:
                plays[-1]["hosts"].update(h.strip() for h in found.group(1).split(","))
        # wait4: the controller's CPU seconds, its main process and every process it waited for (workers, docker exec).
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    machine_after = machine_cpu()
    main_cpu = json.loads(cpu_file.read_text())["main"] if cpu_file.exists() else None
    cpu = {"controller": usage.ru_utime + usage.ru_stime, "main": main_cpu,
           "machine": machine_after[0] - machine_before[0], "stolen": machine_after[1] - machine_before[1]}
    text = output.read_text()
    if returncode != 0:
        sys.stderr.write(text[-4000:])
        raise SystemExit("%s (%s) failed (exit %d); its output: %s" % (playbook.name, label, returncode, output))
    changed = {}
    for line in text.splitlines():
        found = RECAP_LINE.match(line)
        if found and found.group(1) != "localhost":
            changed[found.group(1)] = int(found.group(2))
    entries = [line.split() for line in calls.read_text().splitlines()] if calls.exists() else []
    for play in plays:
        play["calls"] = min(play["calls"], len(entries))
    return Run(wall, collections.Counter(e[0] for e in entries), collections.Counter(e[1] for e in entries), changed, plays, cpu)


def machine_cpu():
    """(busy, stolen) CPU seconds of the whole machine since boot, from /proc/stat: every process of the rig,
    the controller's, the hosts' systemd, engines and speech containers, and dockerd's."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    hz = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / hz, steal / hz


def count_lines(path):
    try:
        with open(path, "rb") as fh:
            return sum(1 for _line in fh)
    except FileNotFoundError:
        return 0


def per_host(counter, hosts):
    values = [counter.get(h, 0) for h in hosts]
    if len(values) > 1 and len(set(values)) == 1:
        return "%d each" % values[0]
    return ", ".join(str(v) for v in values)


def host_range(names):
    if len(names) > 2:
        return "%s .. %s" % (names[0], names[-1])
    return ", ".join(names)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", default="1,4,8", help="fleet sizes for the no-op site.yml (default 1,4,8; at most %d)" % MAX_HOSTS)
    parser.add_argument("--k", type=int, default=2, help="hosts that change in the rollout (default 2; 0: no rollout)")
    parser.add_argument("--rollout-hosts", type=int, help="N, the hosts of the rollout (default the largest of --hosts)")
    parser.add_argument("--keep", action="store_true", help="leave the bench hosts running at the end")
    parser.add_argument("--down", action="store_true", help="remove the bench hosts, and stop")
    parser.add_argument("--write", action="store_true", help="write the figures into BENCHMARKS.md")
    parser.add_argument("--against", help="also run an older revision's no-op (a commit, tag or branch) on each fleet size, and with --k its rollout, in turns")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --against's and --forks' turns (default 3)")
    parser.add_argument("--forks", help="also the ping floor and the no-op at each of these forks settings (as 5,25), in turns, "
                                        "on each fleet size")
    args = parser.parse_args(argv)
    if args.down:
        remove_bench_hosts()
        return 0
    try:
        counts = sorted(set(int(c) for c in args.hosts.split(",") if c.strip()))
    except ValueError:
        parser.error("--hosts: numbers separated by commas, as 1,4,8")
    rollout_n = args.rollout_hosts or counts[-1]
    if not counts or counts[0] < 1 or max(counts + [rollout_n]) > MAX_HOSTS:
        parser.error("--hosts and --rollout-hosts: 1 to %d hosts" % MAX_HOSTS)
    try:
        forks = [int(f) for f in (args.forks or "").split(",") if f.strip()]
    except ValueError:
        forks = [0]
    if any(f < 1 for f in forks):
        parser.error("--forks: numbers of 1 or more separated by commas, as 5,25")
    args.forks = forks
    if not 0 <= args.k <= rollout_n:
        parser.error("--k: 0 to N (%d)" % rollout_n)
    if args.k and rollout_n not in counts:
        counts = sorted(counts + [rollout_n])  # the rollout is set beside the no-op on the same hosts
    if not (demo.DEMO / "inventory.yml").exists() or not all(demo.host_running(name) for name in demo.HOSTS):
        raise SystemExit("No demo fleet: run scripts/demo up first (the bench starts from the converged demo fleet).")
    names = fleet(max(counts))
    first = names[0]
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    try:
        return measure_all(args, counts, rollout_n, names, first, say, lines)
    except rig.RigError as exc:
        log(str(exc))
        return 1
    finally:
        if args.keep:
            log("bench hosts left running: %s (remove: python3 bench/fleet.py --down)" % (", ".join(bench_hosts_up()) or "none"))
        elif bench_hosts_up():
            remove_bench_hosts()


def measure_all(args, counts, rollout_n, names, first, say, lines):
    site = ROOT / "playbooks" / "site.yml"
    with tempfile.TemporaryDirectory(prefix="speech-bench-") as tmp:
        tmp = Path(tmp)
        inventory = write_inventory(tmp / "inventory.json", names)
        bench = [n for n in names if n in BENCH_HOSTS]
        converge = None
        new = start_bench_hosts(bench)
        if bench:
            log("converging %s with site.yml" % ", ".join(bench))
            converge = playbook_run(site, inventory, ",".join(bench), tmp, "converge")

        say("Fleet: %s (systemd containers, each with its own Docker engine and the demo's 4 speech containers); "
            "connection community.docker.docker, pipelining on, forks %s" % (host_range(names), os.environ.get("ANSIBLE_FORKS", "5 (default)")))
        say("Machine: %s, %d CPUs, Python %s, ansible-core from requirements.txt" % (platform.machine(), os.cpu_count(), platform.python_version()))
        if converge is not None:
            say("")
            say("First converge of %s (%s, one site.yml run): %.1f s, %s module calls per host, %s changed"
                % (host_range(bench), "bare" if new == bench else "%d of them new" % len(new) if new else "already converged, kept",
                   converge.wall, per_host(converge.calls, bench), per_host(converge.changed, bench)))

        runs = []  # (what, hosts, Run)
        task_floors = {}  # hosts: the task floor's wall
        ping = tmp / "ping.yml"
        ping.write_text(PING)
        for count in counts:
            hosts = fleet(count)
            log("ping on %d host(s)" % count)
            runs.append(("ping (the floor)", hosts, playbook_run(ping, inventory, ",".join(hosts), tmp, "ping-%d" % count)))
            log("site.yml no-op on %d host(s)" % count)
            noop_run = playbook_run(site, inventory, ",".join(hosts), tmp, "noop-%d" % count)
            runs.append(("site.yml no-op", hosts, noop_run))
            tasks = sum(play["tasks"] for play in noop_run.plays)
            floor_playbook = tmp / ("task-floor-%d.yml" % tasks)
            floor_playbook.write_text(task_floor(tasks))
            log("%d skipped tasks on %d host(s)" % (tasks, count))
            floor_run = playbook_run(floor_playbook, inventory, ",".join(hosts), tmp, "tasks-%d" % count)
            runs.append(("%d %s" % (tasks, TASK_FLOOR_RUN), hosts, floor_run))
            task_floors[count] = floor_run.wall
        against = []  # (hosts, [(old Run, new Run)] in turns)
        if args.against:
            old_collections, old_site = noop.export(args.against, tmp)
            old_env = {"ANSIBLE_COLLECTIONS_PATH": str(old_collections)}
            for count in counts:
                hosts = fleet(count)
                pairs = []
                for turn in range(args.rounds):
                    log("no-op on %d host(s), %s then this checkout (round %d of %d)" % (count, args.against, turn + 1, args.rounds))
                    pairs.append((playbook_run(old_site, inventory, ",".join(hosts), tmp, "against-%d" % count, env_extra=old_env),
                                  playbook_run(site, inventory, ",".join(hosts), tmp, "noop-again-%d" % count)))
                against.append((hosts, pairs))
        forks_turns = []  # (hosts, forks, ping Run, no-op Run)
        for count in counts if args.forks else ():
            hosts = fleet(count)
            for turn in range(args.rounds):
                for setting in args.forks:
                    log("ping and no-op on %d host(s) with %d forks (round %d of %d)" % (count, setting, turn + 1, args.rounds))
                    env = {"ANSIBLE_FORKS": str(setting)}
                    forks_turns.append((count, setting,
                                        playbook_run(ping, inventory, ",".join(hosts), tmp, "ping-forks-%d" % count, env_extra=env),
                                        playbook_run(site, inventory, ",".join(hosts), tmp, "noop-forks-%d" % count, env_extra=env)))
        docker_only = tmp / "docker_only.yml"
        docker_only.write_text(DOCKER_ONLY)
        docker_vars = tmp / "docker_only_vars.json"
        docker_vars.write_text(json.dumps(DOCKER_ONLY_VARS))
        role_env = {"ANSIBLE_ROLES_PATH": str(VENDOR)}
        log("geerlingguy.docker on %s: a first run (it installs python3-debian, which its repository task needs)" % first)
        warm = playbook_run(docker_only, inventory, first, tmp, "docker-only-first", ["-e", "@%s" % docker_vars], role_env)
        log("geerlingguy.docker on %s: the no-op" % first)
        docker_noop = playbook_run(docker_only, inventory, first, tmp, "docker-only", ["-e", "@%s" % docker_vars], role_env)
        runs.append(("geerlingguy.docker no-op", [first], docker_noop))
        rollouts = []
        rollout_turns = []  # (revision, Run there, Run back), in turns with --against
        if args.k:
            hosts = fleet(rollout_n)
            changed_hosts = hosts[-args.k:]
            plan = json.loads((demo.DEMO / "inventory.yml").read_text())["all"]["children"]["speech_hosts"]["vars"]["speech_containers_list"]
            new_plan = changed_plan(plan)
            changed_inventory = write_inventory(tmp / "inventory-changed.json", names, new_plan, changed_hosts)
            what = "%s of container %s" % ("log_level %s" % new_plan[0]["log_level"], new_plan[0]["name"])
            log("rollout on %d hosts, %s changing: %s" % (rollout_n, ", ".join(changed_hosts), what))
            run = playbook_run(site, changed_inventory, ",".join(hosts), tmp, "rollout-change")
            runs.append(("site.yml rollout, %d of %d change" % (args.k, rollout_n), hosts, run))
            rollouts.append(("%s set on %s" % (what, ", ".join(changed_hosts)), run))
            log("rollout on %d hosts, %s changing back" % (rollout_n, ", ".join(changed_hosts)))
            run = playbook_run(site, inventory, ",".join(hosts), tmp, "rollout-back")
            runs.append(("site.yml rollout, %d of %d change back" % (args.k, rollout_n), hosts, run))
            rollouts.append(("the same hosts changed back", run))
            if args.against:
                # The same rollout, there and back, by the older revision and by this checkout, in turns.
                for turn in range(args.rounds):
                    for label, playbook, env in ((args.against, old_site, old_env), ("this checkout", site, None)):
                        log("rollout on %d hosts by %s, there and back (round %d of %d)" % (rollout_n, label, turn + 1, args.rounds))
                        there = playbook_run(playbook, changed_inventory, ",".join(hosts), tmp, "rollout-turn", env_extra=env)
                        back = playbook_run(playbook, inventory, ",".join(hosts), tmp, "rollout-turn-back", env_extra=env)
                        rollout_turns.append((label, there, back))

        say("")
        say("| Run | Hosts | Wall | Controller start | Module calls per host | Changed per host |")
        say("|---|---|---|---|---|---|")
        for what, hosts, run in runs:
            row = (what, len(hosts), run.wall, run.startup, per_host(run.calls, hosts), per_host(run.changed, hosts))
            say("| %s | %d | %.1f s | %.1f s | %s | %s |" % row)
        say("")
        say("Where the CPU goes, in CPU seconds (user + system): ansible-playbook's main process (it queues every task "
            "for every host, builds each one's variables and takes each result, alone); its workers and the `docker exec` "
            "clients they run; the rest of the machine (the hosts' systemd, engines and speech containers, and dockerd); "
            "and how busy that kept the machine's %d CPUs over the wall time (stolen: seconds the hypervisor did not give)." % os.cpu_count())
        say("")
        say("| Run | Hosts | Wall | Main process | Workers and clients | Rest of the machine | Busy | Stolen |")
        say("|---|---|---|---|---|---|---|---|")
        for what, hosts, run in runs:
            say(cpu_row(what, hosts, run))
        say("")
        walls = dict(((what, len(hosts)), run.wall) for what, hosts, run in runs)
        for count in counts:
            noop_wall, floor, tasks = walls.get(("site.yml no-op", count)), walls.get(("ping (the floor)", count)), task_floors[count]
            line = "On %d host(s): the no-op %.1f s against the ping floor's %.1f s (%.1f x)" % (count, noop_wall, floor, noop_wall / floor)
            if count != counts[0]:
                line += "; against %d host(s): the no-op %.1f x, the floor %.1f x, the task floor %.1f x" % (
                    counts[0], noop_wall / walls[("site.yml no-op", counts[0])], floor / walls[("ping (the floor)", counts[0])],
                    tasks / task_floors[counts[0]])
            say(line)
        if against:
            say("")
            say("The no-op against %s, in turns (%s then this checkout, %d rounds; the median, the range in brackets), "
                "with the main process's CPU seconds:" % (args.against, args.against, args.rounds))
            say("")
            say("| Hosts | %s | this checkout | %s: main process | this checkout: main process |" % (args.against, args.against))
            say("|---|---|---|---|---|")
            for hosts, pairs in against:
                olds, news = [pair[0] for pair in pairs], [pair[1] for pair in pairs]
                cells = (median_range([r.wall for r in olds]), median_range([r.wall for r in news]),
                         median_range([r.cpu.get("main") or 0.0 for r in olds]), median_range([r.cpu.get("main") or 0.0 for r in news]))
                say("| %d | %s | %s | %s | %s |" % ((len(hosts),) + cells))
        if forks_turns:
            say("")
            say("Forks (how many hosts a task runs on at once; Ansible's default is 5, the example project's ansible.cfg sets 25): "
                "the ping floor and the no-op at each setting, in turns (%d rounds; the median, the range in brackets), and "
                "each against the same setting on %d host(s):" % (args.rounds, counts[0]))
            say("")
            say("| Hosts | %s |" % " | ".join("forks %d: ping | forks %d: no-op" % (f, f) for f in args.forks))
            say("|---|%s" % ("---|---|" * len(args.forks)))
            for count in counts:
                cells = []
                for setting in args.forks:
                    for pick in (2, 3):  # the ping's Run, the no-op's
                        walls = [turn[pick].wall for turn in forks_turns if turn[:2] == (count, setting)]
                        ones = [turn[pick].wall for turn in forks_turns if turn[:2] == (counts[0], setting)]
                        cells.append(median_range(walls) + ("" if count == counts[0] else " (%.1f x)" % (middle(walls) / middle(ones))))
                say("| %d | %s |" % (count, " | ".join(cells)))
        if rollout_turns:
            say("")
            say("The rollout (%d of %d change, serial 1, there and back) against %s, in turns (%s then this checkout, %d rounds; "
                "the median, the range in brackets), with the seconds of the rollout play:"
                % (args.k, rollout_n, args.against, args.against, args.rounds))
            say("")
            say("| Revision | There | Back | Rollout play, there | Rollout play, back |")
            say("|---|---|---|---|---|")
            for label in (args.against, "this checkout"):
                turns = [(there, back) for who, there, back in rollout_turns if who == label]
                cells = (median_range([t.wall for t, _b in turns]), median_range([b.wall for _t, b in turns]),
                         median_range([t.by_stage().get(ROLLOUT, (0.0,))[0] for t, _b in turns]),
                         median_range([b.by_stage().get(ROLLOUT, (0.0,))[0] for _t, b in turns]))
                say("| %s | %s | %s | %s | %s |" % ((label,) + cells))
        say("")
        noop_one = [run for what, hosts, run in runs if what == "site.yml no-op" and len(hosts) == 1]
        if noop_one:
            say("Module calls of the no-op site.yml on %s, by module: %s" % (first, by_module(noop_one[0])))
        say("Module calls of geerlingguy.docker on %s, by module: %s (its first run there changed %d: %s)"
            % (first, by_module(docker_noop), warm.changed.get(first, 0), "python3-debian" if warm.changed.get(first) else "nothing"))
        say("")
        say("Where the seconds go: the seconds from the start to the first play (Python, Ansible and the collection loading, "
            "the inventory and playbooks read), then each of site.yml's plays, from its PLAY line to the next: "
            "seconds (module calls on all hosts together / tasks run, each counted once however many hosts; "
            "a task that only runs on the controller, includes, facts set, checks and skips among them, costs no module call).")
        say("")
        stages = [label for _prefix, label in PLAYS]
        say("| site.yml | Hosts | Start | %s | Wall |" % " | ".join(stages))
        say("|---|---|---|%s---|" % ("---|" * len(stages)))
        for what, hosts, run in runs:
            if not what.startswith("site.yml"):
                continue
            seconds = run.by_stage()
            cells = " | ".join("%.1f (%d / %d)" % tuple(seconds.get(s, (0.0, 0, 0))) for s in stages)
            say("| %s | %d | %.1f | %s | %.1f |" % (what.replace("site.yml ", ""), len(hosts), run.startup, cells, run.wall))
        for what, run in rollouts:
            say("")
            say("Rollout batches (serial 1), %s: %.1f s" % (what, run.wall))
            say("")
            say("| Batch | Host | Changed | Seconds | Module calls |")
            say("|---|---|---|---|---|")
            for i, (hosts, changed, secs, calls) in enumerate(run.batches(), 1):
                say("| %d | %s | %s | %.1f | %d |" % (i, ", ".join(sorted(hosts)) or "-", ", ".join(sorted(changed)) or "-", secs, calls))
    if args.write:
        path = ROOT / "BENCHMARKS.md"
        text = path.read_text()
        start, end = "<!-- fleet:start -->", "<!-- fleet:end -->"
        if start not in text:
            raise SystemExit("BENCHMARKS.md has no %s marker" % start)
        block = "%s\n%s\n%s" % (start, "\n".join(lines), end)
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
        path.write_text(text)
        log("wrote %s" % path)
    return 0


def middle(values):
    """The median as median_range prints it (the upper one of an even count)."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def median_range(values):
    ordered = sorted(values)
    return "%.1f s (%.1f-%.1f)" % (middle(values), ordered[0], ordered[-1]) if len(ordered) > 1 else "%.1f s" % middle(values)


def cpu_row(what, hosts, run):
    cpu = run.cpu
    if not cpu:
        return "| %s | %d | %.1f s | - | - | - | - | - |" % (what, len(hosts), run.wall)
    main = cpu["main"]
    workers = cpu["controller"] - main if main is not None else None
    rest = cpu["machine"] - cpu["controller"]
    busy = cpu["machine"] / (run.wall * (os.cpu_count() or 1))
    return "| %s | %d | %.1f s | %s | %s | %.1f s | %.0f %% | %.1f s |" % (
        what, len(hosts), run.wall, "%.1f s" % main if main is not None else "-", "%.1f s" % workers if workers is not None else "-",
        rest, 100 * busy, cpu["stolen"])


def by_module(run):
    return ", ".join("%s %d" % item for item in sorted(run.modules.items(), key=lambda kv: (-kv[1], kv[0])))


if __name__ == "__main__":
    sys.exit(main())
