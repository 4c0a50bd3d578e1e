# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the gateway role; the logic lives in plugin_utils/gateway.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.onprem.speech.plugins.plugin_utils import gateway
from ansible_collections.onprem.speech.plugins.plugin_utils import plan as speech_plan


def _plan_of(hostvars):
    entries = hostvars.get("speech_containers_list") or []
    if not isinstance(entries, list):
        return []
    return speech_plan.normalize_plan(entries, allow_undersized=True, state=hostvars.get("speech_containers_state") or "started")["plan"]


def speech_gateway_routes(fleet_hosts, hostvars, ports=None, offset=0, gateway_host="", gateway_address="", stats_port=0):
    """The gateway's routes from the fleet hosts' container lists: {routes, problems}."""
    fleet = []
    for host in fleet_hosts or []:
        hv = hostvars[host] if host in hostvars else {}
        address = hv.get("gateway_backend_address") or hv.get("speech_containers_client_host") or hv.get("ansible_host") or host
        fleet.append({"host": host, "address": address, "plan": _plan_of(hv)})
    own = _plan_of(hostvars[gateway_host]) if gateway_host in (fleet_hosts or []) and gateway_host in hostvars else []
    found = gateway.routes(fleet, ports or {}, int(offset or 0), gateway_host, gateway_address, own)
    if stats_port and any(route.get("port") == stats_port for route in found["routes"]):
        found["problems"].append("gateway_stats_port: %d is a service's port too; give the stats page another" % stats_port)
    return found


def speech_gateway_problems(settings):
    """The gateway's own settings -> problems, each naming its variable."""
    return gateway.check_settings(settings)


def speech_gateway_key_hashes(keys):
    """The SHA-256 of each client key, one per line in HAProxy's pattern file."""
    return gateway.key_hashes(keys)


def speech_text_file(parts):
    """A file's text: each part trimmed and ended by a newline (Ansible 2.19 leaves a Jinja '\\n' as two characters)."""
    return gateway.text_file(parts)


def speech_san(name):
    """A subjectAltName entry: IP:<address> for an address (an IPv6 one without its URL brackets), DNS:<name> otherwise."""
    bare = str(name).strip("[]") if str(name).startswith("[") else str(name)
    return ("IP:%s" if speech_plan.is_ip(bare) else "DNS:%s") % bare


def speech_gateway_servers(routes, host):
    """The (backend, server) pairs of one speech host."""
    return gateway.backend_servers(routes, host)


class FilterModule(object):
    def filters(self):
        return {
            "speech_gateway_routes": speech_gateway_routes,
            "speech_gateway_problems": speech_gateway_problems,
            "speech_gateway_key_hashes": speech_gateway_key_hashes,
            "speech_gateway_servers": speech_gateway_servers,
            "speech_san": speech_san,
            "speech_text_file": speech_text_file,
        }
