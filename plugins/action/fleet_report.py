# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs on the controller: the fleet report written in one step (see the module's docs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

from ansible_collections.onprem.speech.plugins.plugin_utils import fleet

REPORT_FILES = ("index.html", "report.md")


def write_if_changed(path, text, mode=0o644):
    """Write text to path atomically unless it holds exactly that already; True when written."""
    data = to_bytes(text)
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
    except (IOError, OSError):
        pass
    directory = os.path.dirname(path)
    fd, temp = tempfile.mkstemp(prefix=".report-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, mode)
        os.rename(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return True


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("dest", "hosts", "pattern", "active", "rolling", "gateways"))

    def _run_hosts(self, pattern, task_vars):
        """The hosts a play over pattern runs for: the pattern's hosts, narrowed by the run's --limit (ansible_limit),
        in inventory order. From any play: site.yml's later plays run over part of the fleet (a group_by group), and a
        report written there must still show every host of the run."""
        manager = InventoryManager(self._loader, parse=False)
        for group, members in (task_vars.get("groups") or {}).items():
            manager.add_group(group)
            for host in members:
                manager.add_host(host, group=group)
        if task_vars.get("ansible_limit"):
            manager.subset(task_vars["ansible_limit"])
        try:
            return [host.name for host in manager.get_hosts(pattern=pattern)]
        except AnsibleError as error:
            raise AnsibleActionFail("pattern %r: %s" % (pattern, to_text(error)))

    def _render(self, name, variables):
        try:
            source = self._find_needle("templates", name + ".j2")
        except AnsibleError as error:
            raise AnsibleActionFail(to_text(error))
        data = trust_as_template(self._loader.get_text_file_contents(source))
        templar = self._templar.copy_with_new_env(available_variables=variables)
        return templar.template(data, escape_backslashes=False, overrides=dict(trim_blocks=True, lstrip_blocks=False))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        dest = args.get("dest")
        if not dest:
            raise AnsibleActionFail("dest is required: the directory the report is written to")
        hostvars = task_vars.get("hostvars") or {}
        if args.get("hosts") is not None and args.get("pattern") is not None:
            raise AnsibleActionFail("give hosts or pattern, not both")
        play_all = list(task_vars.get("ansible_play_hosts_all") or [])
        if args.get("pattern") is not None:
            hosts = self._run_hosts(to_text(args["pattern"]), task_vars)
        else:
            hosts = list(args.get("hosts") if args.get("hosts") is not None else play_all)
        active = args.get("active")
        if active is None:
            # Only a host that has left this play is known to be lost; the play may run over part of the hosts.
            left = set(play_all) - set(task_vars.get("ansible_play_hosts") or [])
            active = [host for host in hosts if host not in left]
        rows = fleet.fleet_rows(hosts, hostvars, active, list(args.get("rolling") or []))
        gateways = fleet.gateway_rows(list(args.get("gateways") or []), hostvars)
        variables = {"speech_report_rows": rows, "speech_report_gateways": gateways}
        dest = os.path.abspath(os.path.expanduser(to_text(dest)))
        written = []
        if not self._task.check_mode:
            try:
                if not os.path.isdir(dest):
                    os.makedirs(dest, 0o755)
                for name in REPORT_FILES:
                    if write_if_changed(os.path.join(dest, name), self._render(name, variables)):
                        written.append(name)
            except (IOError, OSError) as error:
                raise AnsibleActionFail("The fleet report could not be written to %s: %s" % (dest, error))
        # The report is a controller-side artifact rewritten on every run: writing it never counts as a change to the fleet.
        result.update(
            changed=False,
            path=dest,
            written=written,
            rows=rows,
            gateways=gateways,
            table=fleet.fleet_table(rows) + fleet.gateway_table(gateways)
            + ["Fleet report: %s/index.html (and report.md)%s" % (dest, " (not written: check mode)" if self._task.check_mode else "")],
        )
        return result
