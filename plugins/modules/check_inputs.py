#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: check_inputs
short_description: Check every input of onprem.speech's roles and playbooks at once, before any change
version_added: 0.2.0
description:
  - Runs on the controller only (an action plugin); nothing is asked of the host and nothing changes.
  - Looks at the variables the host sees whose names have a prefix of the collection's roles or play settings
    (C(speech_containers_), C(preflight_), C(docker_), C(gstreamer_), C(diagnostics_), C(speech_rollout_), C(speech_report_), ...),
    and at other C(speech_) names one slip away from a known one.
  - Types and choices come from the roles' own C(meta/argument_specs.yml), read with Ansible's C(ArgumentSpecValidator), so
    values given as strings (extra vars, an INI inventory) are read as Ansible reads them (C("30"), C("yes")).
  - "Refuses: a variable with a role's prefix that no role knows (with the nearest known name); a variable that refers to an
    undefined one (a vault file not loaded); secrets and URLs with whitespace (never quoting a secret); the container list
    (types, kinds, ports, resources against Microsoft's minimums and Docker's, tags, directories that are system directories);
    billing; the registry and its credentials; the docker role's settings; the play settings (C(speech_rollout_serial) 0 or
    over 100%, a C(speech_rollout_max_fail_percentage) that is not a percentage) and keyword-only play settings set in the
    inventory, where Ansible cannot read them."
  - Every problem names its variable. The role C(onprem.speech.preflight) runs it first, before the host is asked anything.
author:
  - onprem.speech maintainers (@onprem)
options:
  fail:
    description: Fail when there are problems (V(false) returns them in RV(problems) for the caller to report with others).
    type: bool
    default: true
extends_documentation_fragment:
  - onprem.speech.attributes.controller
attributes:
  check_mode:
    description: Changes nothing in any mode.
    support: full
seealso:
  - module: onprem.speech.host_facts
"""

EXAMPLES = r"""
---
- name: Check every input before anything changes
  onprem.speech.check_inputs:
"""

RETURN = r"""
problems:
  description: Every problem found, each starting with the variable it is about; empty when none.
  returned: always
  type: list
  elements: str
  sample: ["speech_containers_lists: no role or playbook of onprem.speech has this variable; did you mean speech_containers_list?"]
warnings_found:
  description: What is allowed but worth saying (for example containers below Microsoft's minimum with C(speech_containers_allow_undersized)).
  returned: always
  type: list
  elements: str
inputs:
  description:
    - The collection's own variables, converted as Ansible reads them. This result is printed at C(-v), so it leaves out
      the secrets and the operator's other C(speech_) variables (looked at only for misspelt names), and shows
      C(<hidden>) for a secret's value copied into another variable, and C(<credentials>) for the user and password of
      a URL (a proxy's).
  returned: always
  type: dict
plan:
  description: The host's container plan (the C(onprem.speech.speech_plan) filter's specs), masked as RV(inputs) is.
  returned: always
  type: list
  elements: dict
list_given:
  description: Whether the container list is set for the host at all (not set is not C([])).
  returned: always
  type: bool
list_name:
  description: The variable the container list came from (C(speech_containers_list), or C(preflight_containers) when that is set apart).
  returned: always
  type: str
"""
