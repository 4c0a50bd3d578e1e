# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: speech_table
author: onprem.speech maintainers (@onprem)
version_added: 0.1.0
short_description: Read the collection's table of Speech container kinds
description:
  - Returns entries of the one table that describes the Azure AI Speech container kinds
    (image repository, container port, protocol, minimum and recommended CPU and memory,
    model memory, disconnected support, tag form), so role defaults and docs take their
    numbers from it instead of copying them.
  - Without terms, returns the whole table.
options:
  _terms:
    description:
      - Dotted paths into the table, for example C(min_core_mhz), C(registry), C(kinds.ntts.container_port), C(kinds).
    type: list
    elements: str
    required: false
"""

EXAMPLES = r"""
- name: The documented minimum per-core clock
  ansible.builtin.debug:
    msg: "{{ lookup('onprem.speech.speech_table', 'min_core_mhz') }}"

- name: Language identification's container port
  ansible.builtin.debug:
    msg: "{{ lookup('onprem.speech.speech_table', 'kinds.lid.container_port') }}"
"""

RETURN = r"""
_raw:
  description: One value per term (or the whole table when no term is given).
  type: list
  elements: raw
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.onprem.speech.plugins.module_utils import speech_kinds


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        table = speech_kinds.table()
        if not terms:
            return [table]
        values = []
        for term in terms:
            node = table
            for part in str(term).split("."):
                if not isinstance(node, dict) or part not in node:
                    raise AnsibleLookupError("speech_table: %r is not in the table; top-level keys: %s" % (term, ", ".join(sorted(table))))
                node = node[part]
            values.append(node)
        return values
