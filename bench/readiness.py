"""What the readiness call costs with the clients' protocol against without it, in figures.

    scripts/demo up                    (once: a converged demo fleet)
    python3 bench/readiness.py         prints the figures
    python3 bench/readiness.py --write also writes them into BENCHMARKS.md

On one converged demo host (speech-demo-1, the demo's four containers), the role's readiness call
(onprem.speech.readiness, every container probed in parallel) is made in turn, n rounds each, with:
- probe off: /ready, then /status (what readiness asked before the protocol probes came);
- probe on (the default): the same, then a USP turn per container (a recognition of 1 s of silence,
  a synthesis, a language identification turn);
- probe_speech on: the host's own synthesis fed to speech to text, a transcript required.
Rounds alternate the three, so a slower moment of the machine touches each alike. It prints the median
and the spread of the call's own seconds (the slowest container: they run in parallel) and of the
whole ansible-playbook run. Nothing is asserted.
"""

import argparse
import json
import os
import platform
import re
import statistics
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

HOST = "speech-demo-1"
PLAYBOOK = """---
- name: The role's readiness call on a converged host
  hosts: %s
  gather_facts: false
  become: true
  tasks:
    - name: Work out the plan (on the controller)
      ansible.builtin.include_role:
        name: onprem.speech.speech_containers
        tasks_from: validate.yml

    - name: Prove readiness
      onprem.speech.readiness:
        containers: "{{ speech_containers_planned.plan | onprem.speech.speech_readiness_targets }}"
        ready_timeout: 30
        status_timeout: 30
        probe: "{{ bench_probe | bool }}"
        probe_speech: "{{ bench_probe_speech | bool }}"
      register: bench_ready

    - name: Print its seconds
      ansible.builtin.debug:
        msg: "BENCH {{ bench_ready.containers | map(attribute='seconds') | max }} {{ bench_ready.all_ready }}"
""" % HOST
MODES = [
    ("probe off: /ready and /status", {"bench_probe": False, "bench_probe_speech": False}),
    ("probe on (default): and a USP turn", {"bench_probe": True, "bench_probe_speech": False}),
    ("probe_speech: and a transcript", {"bench_probe": True, "bench_probe_speech": True}),
]
MARK = re.compile(r'"msg": "BENCH ([0-9.]+) (True|False)"')


def run(inventory, playbook, extra):
    env = rig.tool_env({"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_PIPELINING": "true", "ANSIBLE_FORCE_COLOR": "0"})
    started = time.monotonic()
    proc = subprocess.run([str(rig.venv_bin("ansible-playbook")), "-i", str(inventory), str(playbook), "-e", json.dumps(extra)],
                          env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    found = MARK.search(proc.stdout)
    if proc.returncode != 0 or not found:
        sys.stderr.write(proc.stdout[-2000:])
        raise SystemExit("the readiness run failed (exit %d)" % proc.returncode)
    return float(found.group(1)), found.group(2) == "True", wall


def spread(values):
    return "%.2f s (%.2f to %.2f)" % (statistics.median(values), min(values), max(values))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=5, help="rounds of each (default 5)")
    parser.add_argument("--write", action="store_true", help="write the figures into BENCHMARKS.md")
    args = parser.parse_args(argv)
    source = demo.DEMO / "inventory.yml"
    if not source.exists() or not demo.host_running(HOST):
        raise SystemExit("No demo fleet: run scripts/demo up first.")
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory() as tmp:
        playbook = Path(tmp) / "readiness.yml"
        playbook.write_text(PLAYBOOK)
        figures = dict((label, ([], [], [])) for label, _extra in MODES)
        for round_no in range(args.n):
            for label, extra in MODES:
                secs, ready, wall = run(source, playbook, extra)
                figures[label][0].append(secs)
                figures[label][1].append(wall)
                figures[label][2].append(ready)
            print("[bench] round %d of %d done" % (round_no + 1, args.n), flush=True)
    say("Host: %s (a demo host: stt en-US, custom stt, ntts en-US-AriaNeural, lid), connection community.docker.docker, pipelining on" % HOST)
    say("Machine: %s, %d CPUs, Python %s; %d rounds, the three modes in turn" % (platform.machine(), os.cpu_count(), platform.python_version(), args.n))
    say("")
    say("| Readiness | The call (slowest container): median (min to max) | Whole run: median (min to max) | All ready |")
    say("|---|---|---|---|")
    for label, _extra in MODES:
        secs, walls, ready = figures[label]
        say("| %s | %s | %s | %d of %d |" % (label, spread(secs), spread(walls), sum(ready), len(ready)))
    off = statistics.median(figures[MODES[0][0]][0])
    say("")
    say("The USP probe adds %+.2f s to the call (median against probe off); probe_speech %+.2f s." % (
        statistics.median(figures[MODES[1][0]][0]) - off, statistics.median(figures[MODES[2][0]][0]) - off))
    if args.write:
        path = ROOT / "BENCHMARKS.md"
        text = path.read_text()
        block = "<!-- readiness:start -->\n" + "\n".join(lines) + "\n<!-- readiness:end -->"
        if "<!-- readiness:start -->" in text:
            text = re.sub(r"<!-- readiness:start -->.*?<!-- readiness:end -->", lambda _m: block, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n## Readiness: the clients' protocol against /ready and /status\n\n" + block + "\n"
        path.write_text(text)
        print("[bench] figures written into BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
