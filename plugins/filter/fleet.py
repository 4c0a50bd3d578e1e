# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the fleet summary and report; the logic is in plugin_utils/fleet.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.onprem.speech.plugins.plugin_utils import fleet


def speech_fleet_rows(hosts, hostvars):
    """One row per host (outcome, CPU, clock, cores and memory against the plan, containers)."""
    return fleet.fleet_rows(hosts, hostvars)


def speech_fleet_table(rows):
    """The summary table as lines of text."""
    return fleet.fleet_table(rows)


def speech_percent(need, have):
    return fleet.percent(need, have)


class FilterModule(object):
    def filters(self):
        return {
            "speech_fleet_rows": speech_fleet_rows,
            "speech_fleet_table": speech_fleet_table,
            "speech_percent": speech_percent,
        }
