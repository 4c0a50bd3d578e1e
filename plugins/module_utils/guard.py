# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's guard over a replace: what serves again when the run that started the replace is gone.

When the speech_container module sets a container aside (<name>.previous) and starts its successor, it arms a
guard on the host: a file in the host's state directory (host_state.STATE_DIR) naming the containers and the
run, and a process of its own, detached from the module and from the connection (two forks and a new session;
its standard streams on /dev/null), that needs no controller. The run disarms it once the successors are
proven ready (commit) or put back (rollback). If the deadline (the readiness bound plus a margin) passes and
the guard is still armed (the controller died, the laptop lid closed, the SSH connection dropped), the process
puts the last containers proven ready back by itself, exactly as the run's own rollback would
(container_ops.rollback), writes what it did to the host's journal, and ends. The next run reads the journal
(the look) and says what the guard did.

A commit that finds its guard already fired fails: the host serves what the guard put back, and the run must
not say otherwise.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

from ansible_collections.onprem.speech.plugins.module_utils import container_ops, host_state

# Seconds between two looks of the guard at its file, while it waits for its deadline.
WATCH_SECONDS = 1.0


def guard_path(state_dir, run):
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(run or "run"))[:120]
    return os.path.join(state_dir, "%s%s.json" % (host_state.GUARD_PREFIX, safe))


def arm(state_dir, run, items, seconds, docker_host, now=time.time):
    """Write the guard's file: {run, armed_at, deadline, docker_host, items [{name, previous_id, previous_running}]}.

    Returns its path. A guard this run armed earlier for other containers keeps them."""
    host_state.ensure_dir(state_dir)
    path = guard_path(state_dir, run)
    current = host_state.read_json(path) or {}
    by_name = dict((i["name"], i) for i in current.get("items") or [])
    for item in items:
        by_name[item["name"]] = {"name": item["name"], "previous_id": item.get("previous_id"),
                                 "previous_running": bool(item.get("previous_running", True))}
    armed = {"run": run, "armed_at": now(), "deadline": now() + seconds, "docker_host": docker_host,
             "items": [by_name[n] for n in sorted(by_name)]}
    host_state.write_json(path, armed)
    return path


def disarm(state_dir, run, names=None):
    """Take containers (all when names is None) out of this run's guard. Returns the names that were still armed:
    a name the guard no longer has was put back by it (or never armed)."""
    path = guard_path(state_dir, run)
    current = host_state.read_json(path)
    if not isinstance(current, dict):
        return []
    items = current.get("items") or []
    wanted = set(i["name"] for i in items) if names is None else set(names)
    still = [i["name"] for i in items if i["name"] in wanted]
    left = [i for i in items if i["name"] not in wanted]
    if left:
        host_state.write_json(path, dict(current, items=left))
    else:
        try:
            os.unlink(path)
        except OSError:
            pass
    return still


def fired(state_dir, run, names):
    """The journal's guard entries for this run that put back any of these names (newest last)."""
    return [e for e in host_state.journal_tail(state_dir, 50)
            if e.get("by") == "guard" and e.get("run") == run and set(e.get("containers") or []) & set(names)]


def watch(state_dir, run, engine, clock=time.time, sleep=time.sleep):
    """The guard process's body: wait for the deadline while the file is there; then, if it still is, roll back what
    it names and write the journal. Returns the journal entry, or None when the run disarmed it in time."""
    path = guard_path(state_dir, run)
    while True:
        armed = host_state.read_json(path)
        if not isinstance(armed, dict) or not armed.get("items"):
            return None
        remaining = float(armed.get("deadline") or 0) - clock()
        if remaining <= 0:
            break
        sleep(min(WATCH_SECONDS, remaining))
    # Read once more and take the file away first: a run that confirms at this instant finds it gone, and says so.
    armed = host_state.read_json(path)
    if not isinstance(armed, dict) or not armed.get("items"):
        return None
    try:
        os.unlink(path)
    except OSError:
        return None
    items = [dict(i, change="replace") for i in armed["items"]]
    actions, problems = container_ops.rollback(engine, items)
    waited = int(round(float(armed["deadline"]) - float(armed.get("armed_at") or armed["deadline"])))
    entry = {"by": "guard", "run": run, "containers": [i["name"] for i in items], "actions": actions, "problems": problems,
             "result": "put back" if not problems else "did not finish",
             "why": "the run that replaced them did not confirm the successors ready within %d s (its controller stopped, or lost "
                    "the connection)" % waited}
    host_state.journal_append(state_dir, entry)
    return entry


def spawn(target):
    """Run target() in a process detached from this one (two forks, a new session, the standard streams on
    /dev/null, every other descriptor closed), so that it outlives the module, its connection and the controller.
    Returns at once in the caller."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        try:
            os.closerange(3, 1024)
        except OSError:
            pass
        try:
            target()
        finally:
            os._exit(0)
    except BaseException:  # noqa: BLE001  (a detached child never returns into the module)
        os._exit(1)
