#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_lock
short_description: One run at a time on a host, and a journal of who changed it
version_added: 0.3.0
description:
  - O(action=acquire) takes the host's lock for this run before it changes the host. The lock is a file in the
    collection's root-only state directory naming its holder (controller, user, process, start, playbook). A second run
    that reaches a locked host fails that host at once, naming the holder, and changes nothing there.
  - A lock whose holder is gone is taken over with a warning. The holder is gone when it ran on this controller and its
    process no longer runs, or when it started more than O(max_age) seconds ago. O(break_lock) takes any lock over, and
    the message of a refused run names it.
  - O(action=release) appends one entry to the host's journal (O(journal)) and gives the lock back. The journal is
    readable by root only and holds no secret.
  - The lock and the journal are the collection's bookkeeping, not a change to what the host serves; the module
    reports C(changed=false).
  - An action plugin runs on the controller (it knows this run and can tell whether a holder's process still runs)
    and calls the module on the host.
author:
  - onprem.speech maintainers (@onprem)
options:
  action:
    description: Take the lock, or write the journal entry and give the lock back.
    type: str
    required: true
    choices: [acquire, release]
  max_age:
    description: Seconds after its start at which a holder counts as gone, whatever controller it ran on.
    type: int
    default: 7200
  break_lock:
    description: Take the lock over whoever holds it (the operator knows its run is gone).
    type: bool
    default: false
  journal:
    description:
      - For O(action=release), the journal entry (what changed and why, the result); the run's controller, user, playbook
        and time are added. Never a secret.
    type: dict
    default: {}
  state_dir:
    description: The host's directory for the collection's lock, journal, ready record and guards (root's only).
    type: path
    default: /var/lib/onprem-speech/state
  holder:
    description: This run (the action plugin gives it, from the controller; do not set it).
    type: dict
  take_over:
    description: The run whose lock to take over, and why (the action plugin gives it; do not set it).
    type: dict
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: none
    details:
      - A check run changes nothing, so it takes no lock; the playbooks skip this module in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
seealso:
  - module: onprem.speech.speech_container
"""

EXAMPLES = r"""
---
- name: Take this host's lock before changing it
  onprem.speech.host_lock:
    action: acquire

- name: Write what changed, and give the lock back
  onprem.speech.host_lock:
    action: release
    journal:
      changes: ["tts-aria: replaced (cpus 0.25 -> 0.5)"]
      result: ok
"""

RETURN = r"""
holder:
  description: The lock's holder (for O(action=acquire), this run; when refused, the other run).
  returned: always
  type: dict
  sample: {"run": "ctl:4242:12345", "controller": "ctl", "user": "alice", "pid": 4242, "started_at": "2026-12-07T10:00:00Z",
           "playbook": "site.yml"}
taken_over:
  description: The holder whose lock was taken over (RV(why) says why), or V(null).
  returned: when acquired
  type: dict
why:
  description: Why a lock was taken over.
  returned: when acquired
  type: str
journal:
  description: The journal's last entries, oldest first (O(action=release)).
  returned: when released
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.speech.plugins.module_utils import host_state


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=["acquire", "release"]),
            holder=dict(type="dict"),
            max_age=dict(type="int", default=7200),
            break_lock=dict(type="bool", default=False),
            take_over=dict(type="dict", default=None),
            journal=dict(type="dict", default={}),
            state_dir=dict(type="path", default=host_state.STATE_DIR),
        ),
        supports_check_mode=False,
    )
    params = module.params
    holder = params["holder"] or {}
    if not holder.get("run"):
        module.fail_json(msg="holder.run: missing (the action plugin gives it)")
    state_dir = params["state_dir"]
    if params["action"] == "acquire":
        try:
            taken = host_state.acquire(state_dir, holder, params["max_age"], take_over=params["take_over"])
        except host_state.LockHeld as error:
            module.fail_json(msg="locked by " + host_state.describe_holder(error.holder), holder=error.holder, locked=True)
        module.exit_json(changed=False, holder=taken["held"], taken_over=taken["taken_over"], why=taken["why"])
    entry = dict(params["journal"] or {})
    if entry:
        entry.update(dict((k, holder.get(k)) for k in ("run", "controller", "user", "playbook")), by="run")
        host_state.journal_append(state_dir, entry)
    host_state.release(state_dir, holder["run"])
    module.exit_json(changed=False, holder=holder, journal=host_state.journal_tail(state_dir))


if __name__ == "__main__":
    main()
