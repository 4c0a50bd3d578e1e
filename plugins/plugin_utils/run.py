# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side only: who this run is, as the host's lock, journal and guard name it.

A run is one ansible-playbook process: its id is the controller's name, that process's id and its start (in clock
ticks since boot, from /proc: a process id a later process reuses has another start). Every worker process forked
from it (one per task and host) names the same run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import multiprocessing
import os
import socket
import time

try:
    from ansible import context
except ImportError:  # pragma: no cover
    context = None


def _start_ticks(pid):
    """The process's start, in clock ticks since boot (/proc/<pid>/stat, field 22), or None."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            text = handle.read()
        return int(text[text.rindex(")") + 2:].split()[19])
    except (IOError, OSError, ValueError, IndexError):
        return None


def _boot_time():
    try:
        with open("/proc/stat") as handle:
            for line in handle:
                if line.startswith("btime "):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError):
        pass
    return None


def main_pid():
    """ansible-playbook's own process: this one, or the parent of a worker forked from it."""
    return os.getppid() if multiprocessing.current_process().name != "MainProcess" else os.getpid()


def process_alive(pid, start_ticks):
    """Whether the process still runs (and is the same one: its start has not changed)."""
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    now = _start_ticks(int(pid))
    return start_ticks is None or now is None or now == start_ticks


def run_info():
    """{run, controller, user, pid, start_ticks, started, started_at, playbook} of this run."""
    pid = main_pid()
    ticks = _start_ticks(pid)
    boot = _boot_time()
    hertz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    started = boot + ticks / float(hertz) if boot is not None and ticks is not None else time.time()
    controller = socket.gethostname()
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001  (no name for this uid)
        user = str(os.getuid())
    playbook = ""
    try:
        playbook = ",".join(os.path.basename(p) for p in (context.CLIARGS.get("args") or ())) if context else ""
    except Exception:  # noqa: BLE001
        playbook = ""
    return {"run": "%s:%d:%s" % (controller, pid, ticks if ticks is not None else int(started)), "controller": controller,
            "user": user, "pid": pid, "start_ticks": ticks, "started": started,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "playbook": playbook or "?"}
