# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs on the controller: every input of the collection checked at once, before any change (see the module's docs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.vars import load_extra_vars

from ansible_collections.onprem.speech.plugins.plugin_utils import check


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("fail", "keyword_settings"))

    def _template(self, name, raw):
        """(value, problem): the variable's value, or why it cannot be had (never the value of a secret)."""
        try:
            return self._templar.template(raw), None
        except AnsibleError as error:
            return None, check.undefined_problem(name, str(error))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        fail = bool(self._task.args.get("fail", True))
        names = [name for name in task_vars if check.relevant(name)]
        values, problems, unreadable = {}, [], set()
        for name in sorted(names):
            value, problem = self._template(name, task_vars[name])
            if problem is None:
                values[name] = value
            elif check.reported(name):
                problems.append(problem)
                unreadable.add(name)
        play = self._task.get_play() if hasattr(self._task, "get_play") else None
        play_vars = dict(getattr(play, "vars", None) or {})
        extra_vars = load_extra_vars(self._loader)
        report = check.check_all(values, given_by_play=set(play_vars) | set(extra_vars), unreadable=unreadable)
        problems.extend(report["problems"])
        result.update(changed=False, problems=problems, warnings_found=report["warnings"], inputs=report["inputs"], plan=report["plan"],
                      list_given=report["list_given"], list_name=report["list_name"])
        if problems and fail:
            result["failed"] = True
            result["msg"] = check.refusal("onprem.speech refused the input for %s%s:"
                                          % (task_vars.get("inventory_hostname"), check.count_words(len(problems))), problems)
        return result
