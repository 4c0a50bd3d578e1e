# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's lock from the controller (see the module's docs): this run's holder, and whether a holder that ran on this
controller is gone (its process no longer runs), which only the controller can tell."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.onprem.speech.plugins.plugin_utils import run as runs


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("action", "max_age", "break_lock", "journal", "state_dir"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        me = runs.run_info()
        break_lock = bool(args.pop("break_lock", False))
        module_args = dict(args, holder=me)
        answer = self._execute_module(module_name="onprem.speech.host_lock", module_args=module_args, task_vars=task_vars)
        if answer.get("failed") and answer.get("locked"):
            held = answer.get("holder") or {}
            why = None
            if break_lock:
                why = "speech_lock_break is set"
            elif held.get("controller") == me["controller"] and held.get("pid") and not runs.process_alive(held["pid"], held.get("start_ticks")):
                why = "its process %s on %s no longer runs" % (held["pid"], held["controller"])
            if why:
                answer = self._execute_module(module_name="onprem.speech.host_lock",
                                              module_args=dict(module_args, take_over={"run": held.get("run"), "why": why}), task_vars=task_vars)
            else:
                answer["msg"] = ("%s is being changed by another run: %s. Nothing was changed here by this run. Wait for that run "
                                 "to end; if it is gone (its controller died), its lock is taken over once its process no longer runs "
                                 "on that controller or after speech_lock_max_age seconds, or at once with -e speech_lock_break=true."
                                 % (task_vars.get("inventory_hostname"), answer["msg"].replace("locked by ", "", 1)))
        result.update(answer)
        if answer.get("taken_over"):
            old = answer["taken_over"]
            result.setdefault("warnings", []).append("took over the lock of %s@%s (process %s, playbook %s, since %s): %s" % (
                old.get("user"), old.get("controller"), old.get("pid"), old.get("playbook"), old.get("started_at"), answer.get("why")))
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
