# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a test run's minutes go (the rig only; not part of the collection).

Prints each task's and each play's wall-clock seconds into the run's output (a Molecule
scenario's log), and appends one JSON line per task, play and playbook to the file named by
SPEECH_CI_TIMING, so that the rig can print the ten slowest of a whole scenario, across every
ansible-playbook it ran (Molecule's steps and the playbooks its steps run in turn).

A task's seconds run from its start to the next task's (or the play's end), as
ansible.posix.profile_tasks counts them: with the linear strategy that is the task on every
host of the play."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: speech_timing
type: aggregate
short_description: Seconds of every task, play and playbook (the test rig only)
description:
  - Prints each task's and play's seconds, and appends them as JSON lines to E(SPEECH_CI_TIMING).
"""

import json
import os
import time

from ansible import context
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "speech_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.playbook = "?"
        self.playbook_t0 = time.time()
        self.play = None
        self.play_t0 = None
        self.task = None
        self.task_t0 = None
        self.records = []

    def _label(self):
        name = os.path.basename(self.playbook)
        try:
            if context.CLIARGS.get("check"):
                name += " --check"
        except Exception:  # noqa: BLE001  (no CLI arguments: a library run)
            pass
        return name

    def _emit(self, record):
        record["playbook"] = self._label()
        record["scenario"] = os.environ.get("MOLECULE_SCENARIO_NAME", "")
        self.records.append(record)
        target = os.environ.get("SPEECH_CI_TIMING")
        if target:
            with open(target, "a") as fh:
                fh.write(json.dumps(record) + "\n")

    def _end_task(self):
        if self.task is None:
            return
        seconds = time.time() - self.task_t0
        self._display.display("[timing] %6.1f s  task: %s" % (seconds, self.task))
        self._emit({"what": "task", "name": self.task, "play": self.play, "seconds": round(seconds, 2)})
        self.task = None

    def _end_play(self):
        self._end_task()
        if self.play is None:
            return
        seconds = time.time() - self.play_t0
        self._display.display("[timing] %6.1f s  play: %s (%s)" % (seconds, self.play, self._label()))
        self._emit({"what": "play", "name": self.play, "seconds": round(seconds, 2)})
        self.play = None

    def v2_playbook_on_start(self, playbook):
        self.playbook = getattr(playbook, "_file_name", "?")
        self.playbook_t0 = time.time()

    def v2_playbook_on_play_start(self, play):
        self._end_play()
        self.play = play.get_name().strip() or "(unnamed play)"
        self.play_t0 = time.time()

    def _start_task(self, task):
        self._end_task()
        name = task.get_name().strip()
        role = getattr(task, "_role", None)
        if role is not None and role.get_name() not in name:
            name = "%s : %s" % (role.get_name(), name)
        self.task = name
        self.task_t0 = time.time()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start_task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start_task(task)

    def v2_playbook_on_stats(self, stats):
        self._end_play()
        seconds = time.time() - self.playbook_t0
        tasks = sorted((r for r in self.records if r["what"] == "task"), key=lambda r: -r["seconds"])[:10]
        lines = ["[timing] %6.1f s  playbook: %s; its slowest tasks:" % (seconds, self._label())]
        lines += ["[timing]   %6.1f s  %s" % (r["seconds"], r["name"]) for r in tasks]
        self._display.display("\n".join(lines))
        self._emit({"what": "playbook", "name": self._label(), "seconds": round(seconds, 2)})
