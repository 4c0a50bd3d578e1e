# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the fleet summary and report; the logic is in plugin_utils/fleet.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.speech.plugins.plugin_utils import fleet, inputs


def speech_serial(value):
    """speech_rollout_serial as the play keyword takes it; a value preflight refuses becomes 1 (the run never gets there)."""
    return fleet.serial_or_default(value)


def speech_pattern(value, name="speech_hosts"):
    """speech_hosts (or speech_gateways) as a play's hosts keyword; a value that is not a pattern fails naming the variable.

    site.yml's plays template their hosts with it in the controller's main process, before any task is forked;
    that loads the collection's filter plugins there once, and every worker process inherits them instead of
    loading them again for each task and host (bench/BENCHMARKS.md). For the same reason it has preflight's input
    check read the roles' argument specs and files here, once per run, rather than once per host."""
    inputs.warm()
    try:
        return fleet.host_pattern(value, name)
    except ValueError as error:
        raise AnsibleFilterError(str(error))


def speech_percentage(value):
    """speech_rollout_max_fail_percentage as the play keyword takes it; a value preflight refuses becomes 0."""
    return fleet.percentage_or_default(value)


def speech_rollout_lost(play_hosts_all, play_hosts, batch, max_fail_percentage):
    """Before a rollout batch: the hosts of the earlier batches that left the play, and whether to stop (fleet.rollout_lost)."""
    return fleet.rollout_lost(play_hosts_all, play_hosts, batch, max_fail_percentage)


def speech_percent(need, have):
    return fleet.percent(need, have)


def speech_journal_entry(hv, failure=""):
    """What a run that changed this host writes in its journal (hostvars[inventory_hostname]): what changed and why, the
    result; the run's secrets, read from the host's variables here (the task carries none), are removed."""
    secrets = [hv.get(name) for name in ("speech_containers_api_key", "speech_containers_registry_password") if hv.get(name)]
    return fleet.journal_entry(hv, failure or "", secrets)


class FilterModule(object):
    def filters(self):
        return {
            "speech_percent": speech_percent,
            "speech_serial": speech_serial,
            "speech_pattern": speech_pattern,
            "speech_percentage": speech_percentage,
            "speech_rollout_lost": speech_rollout_lost,
            "speech_journal_entry": speech_journal_entry,
        }
