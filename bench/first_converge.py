"""A first converge (bare hosts to ready containers) by this checkout's site.yml against an
older revision's, side by side in one run.

    scripts/demo up                                   (once: the rig's network, support services and demo inventory)
    python3 bench/first_converge.py --against REV     e.g. --against 38c6f49 (before the one look per host)
    python3 bench/first_converge.py --against REV --hosts 3 --rounds 2

Each round starts `--hosts` bare bench hosts (speech-bench-4.., the demo's host image and run
options, as bench/fleet.py makes them), runs one site.yml on them, removes them, and does the
same with the other revision; the revisions take turns (the older first in odd rounds), so a
machine that warms up or slows down is shared between them. The older revision is exported with
`git archive` into a temporary collections path; both run with this checkout's ansible.cfg, the
demo's inventory and pipelining on. Printed: wall time, module calls per host and changed tasks
per host of every run, and the median per revision. Nothing is asserted.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "rig"))
sys.path.insert(0, str(HERE))

import demo  # noqa: E402  pylint: disable=wrong-import-position
import fleet  # noqa: E402  pylint: disable=wrong-import-position
import noop  # noqa: E402  pylint: disable=wrong-import-position


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", required=True, help="the older revision (a commit, tag or branch)")
    parser.add_argument("--hosts", type=int, default=3, help="bare hosts converged by each run (1 to %d; default 3)" % len(fleet.BENCH_HOSTS))
    parser.add_argument("--rounds", type=int, default=1, help="runs of each revision (default 1)")
    args = parser.parse_args(argv)
    if not 1 <= args.hosts <= len(fleet.BENCH_HOSTS):
        parser.error("--hosts: 1 to %d" % len(fleet.BENCH_HOSTS))
    if not (demo.DEMO / "inventory.yml").exists():
        raise SystemExit("No demo inventory: run scripts/demo up first (the bench uses its network, support services and inventory).")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    names = list(fleet.BENCH_HOSTS)[:args.hosts]
    results = {args.against: [], head: []}
    with tempfile.TemporaryDirectory(prefix="speech-first-") as tmp:
        tmp = Path(tmp)
        old_collections, old_site = noop.export(args.against, tmp)
        variants = {args.against: (old_site, {"ANSIBLE_COLLECTIONS_PATH": str(old_collections)}),
                    head: (ROOT / "playbooks" / "site.yml", None)}
        inventory = fleet.write_inventory(tmp / "inventory.json", list(demo.HOSTS) + names)
        try:
            for round_ in range(args.rounds):
                order = [args.against, head] if round_ % 2 == 0 else [head, args.against]
                for rev in order:
                    fleet.remove_bench_hosts()
                    fleet.start_bench_hosts(names)
                    site, env = variants[rev]
                    fleet.log("round %d: %s's site.yml on %d bare hosts" % (round_ + 1, rev, len(names)))
                    run = fleet.playbook_run(site, inventory, ",".join(names), tmp, "first-%s-%d" % (rev, round_), env_extra=env)
                    results[rev].append(run)
                    fleet.log("%s: %.1f s" % (rev, run.wall))
        finally:
            fleet.remove_bench_hosts()
    print()
    print("First converge of %d bare hosts (%s), one site.yml run each, pipelining on:" % (len(names), fleet.host_range(names)))
    print()
    print("| Revision | Round | Wall | Module calls per host | Changed per host |")
    print("|---|---|---|---|---|")
    for rev, runs in results.items():
        for i, run in enumerate(runs):
            print("| %s | %d | %.1f s | %s | %s |" % (rev, i + 1, run.wall, fleet.per_host(run.calls, names), fleet.per_host(run.changed, names)))
    print()
    for rev, runs in results.items():
        print("%s: median %.1f s over %d run(s)" % (rev, statistics.median(r.wall for r in runs), len(runs)))
    print()
    print("Each play's seconds (module calls on all hosts / tasks), as bench/fleet.py splits a run:")
    print()
    stages = [label for _prefix, label in fleet.PLAYS]
    print("| Revision | Round | Start | %s | Wall |" % " | ".join(stages))
    print("|---|---|---|%s---|" % ("---|" * len(stages)))
    for rev, runs in results.items():
        for i, run in enumerate(runs):
            seconds = run.by_stage()
            cells = " | ".join("%.1f (%d / %d)" % tuple(seconds.get(stage, (0.0, 0, 0))) for stage in stages)
            print("| %s | %d | %.1f | %s | %.1f |" % (rev, i + 1, run.startup, cells, run.wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
