#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Write the fleet report (HTML and Markdown) on the controller, and return its summary table
version_added: 0.4.0
description:
  - Runs on the controller only (an action plugin); nothing is asked of any host.
  - Reads only what the roles published in hostvars (C(preflight_result), C(docker_result), C(gstreamer_result),
    C(speech_containers_result), C(diagnostics_result), C(gateway_result), C(gateway_servers)) and the groups
    site.yml sorts hosts into (C(speech_configured) once Docker and GStreamer are as planned, C(speech_rollout_steady)
    or C(speech_rollout_changing) once the images are present); how far a host got comes from those. None of them holds
    a secret.
  - Renders the templates C(index.html.j2) and C(report.md.j2), found as the M(ansible.builtin.template) module finds
    them (in a C(templates/) directory of the play's or role's search path), and writes each file only when its content
    differs, atomically, readable by all (C(0644)), in a directory it makes (C(0755)).
  - The report is a controller-side artifact rewritten on every run; writing it never counts as a change to the fleet.
  - In check mode nothing is written; the table is still returned.
  - One task, run once, instead of a module run for the directory and one for each file.
author:
  - onprem.speech maintainers (@onprem)
options:
  dest:
    description: The directory the report is written to (made when missing).
    type: path
    required: true
  hosts:
    description:
      - The hosts to report, in order (refused and failed ones included). Default the play's hosts,
        C(ansible_play_hosts_all).
      - Mutually exclusive with O(pattern).
    type: list
    elements: str
  pattern:
    description:
      - A host pattern; the hosts to report are those a play over it runs for, in inventory order, narrowed by the run's
        C(--limit) as the play's hosts are. From any play of a run, including one over part of the fleet (a later play
        of site.yml over a C(group_by) group).
      - Mutually exclusive with O(hosts).
    type: str
  active:
    description:
      - The hosts still in the run. Default every reported host except those that have left this play, failed or
        unreachable in it (C(ansible_play_hosts_all) without C(ansible_play_hosts)). A host with a result that is no
        longer active is reported as dropped (failed or unreachable since).
    type: list
    elements: str
  rolling:
    description:
      - The hosts whose rollout batch is about to start. A host here that is not rolled out yet is reported as in its
        rollout batch, with a warning that if the run has ended it stopped there (what the host serves is unknown).
      - site.yml writes the report so before each batch. A host lost in its batch (unreachable) runs no rescue, and
        Ansible then ends the run, so that report is what stays on disk.
    type: list
    elements: str
    default: []
  gateways:
    description: The gateway hosts whose routes the report shows.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - onprem.speech.attributes.controller
attributes:
  check_mode:
    description: Writes nothing in check mode, and returns the table.
    support: full
seealso:
  - module: onprem.speech.check_inputs
"""

EXAMPLES = r"""
---
- name: Write the fleet report
  onprem.speech.fleet_report:
    dest: "{{ playbook_dir }}/speech-report"
    gateways: "{{ groups['speech_gateways'] | default([]) }}"
  run_once: true
  register: report

- name: Write it from a play over part of the fleet, with this batch's hosts in their rollout
  onprem.speech.fleet_report:
    dest: "{{ playbook_dir }}/speech-report"
    pattern: speech_hosts
    rolling: "{{ ansible_play_batch }}"
  run_once: true

- name: Print its table
  ansible.builtin.debug:
    msg: "{{ report.table }}"
  run_once: true
"""

RETURN = r"""
path:
  description: The directory the report is in.
  returned: always
  type: str
written:
  description: The files written by this run (a file whose content had not changed is left as it was).
  returned: always
  type: list
  elements: str
  sample: [index.html]
rows:
  description: One row per host (outcome, CPU, clock, cores and memory against the plan, containers, what changed).
  returned: always
  type: list
  elements: dict
gateways:
  description: One row per gateway route, with each backend's state on that gateway.
  returned: always
  type: list
  elements: dict
table:
  description: The summary table as lines of text, then the gateways' routes, then where the report is.
  returned: always
  type: list
  elements: str
"""
