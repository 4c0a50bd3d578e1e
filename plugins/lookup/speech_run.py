# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: speech_run
author: onprem.speech maintainers (@onprem)
version_added: 0.3.0
short_description: Who this run is, as the host's lock, journal and guard name it
description:
  - Returns one dictionary describing the ansible-playbook run this task belongs to. C(run) is its id (the controller's
    name, the process id of ansible-playbook and its start), the same for every task and host of the run.
  - The speech_containers role passes C(run) to M(onprem.speech.speech_container), so that only this run's commit or
    rollback disarms the guard its replace armed.
options: {}
"""

EXAMPLES = r"""
- name: This run's id
  ansible.builtin.debug:
    msg: "{{ lookup('onprem.speech.speech_run').run }}"
"""

RETURN = r"""
_raw:
  description: One dictionary.
  type: list
  elements: dict
  contains:
    run:
      description: The run's id, C(<controller>:<pid>:<start>).
      type: str
    controller:
      description: The controller's host name.
      type: str
    user:
      description: The user running ansible-playbook.
      type: str
    pid:
      description: The process id of ansible-playbook.
      type: int
    started_at:
      description: When it started (UTC, ISO 8601).
      type: str
    playbook:
      description: The playbooks it runs.
      type: str
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.onprem.speech.plugins.plugin_utils import run as run_info


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [run_info.run_info()]
