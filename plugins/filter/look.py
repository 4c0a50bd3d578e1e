# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the one look at a host (host_facts); the logic lives in plugin_utils/drift.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.speech.plugins.module_utils import host_look
from ansible_collections.onprem.speech.plugins.plugin_utils import check, drift


def speech_docker_drift(look, want):
    """What the docker role would change on a host, concern by concern, with the reasons."""
    return drift.docker_drift(look, want)


def speech_gstreamer_drift(look, want):
    """What the gstreamer role would change: missing packages, formats without their elements."""
    return drift.gstreamer_drift(look, want)


def speech_gateway_drift(look, want):
    """What the gateway role would change on its host: HAProxy's package, its files (by SHA-256 only), its service."""
    return drift.gateway_drift(look, want)


def speech_look_covers(look, query):
    """Whether this run's look at the host was asked for everything of query."""
    return drift.look_covers(look, query)


def speech_docker_packages(packages, pinned, version):
    """The engine packages as [{name, pin}] (the pin on the pinned ones only)."""
    return [{"name": name, "pin": (version or None) if name in (pinned or []) else None} for name in list(packages or [])]


def speech_docker_cas(cas):
    """docker_registry_cas as the files the role writes: [{registry, path, content}]."""
    return [{"registry": str(ca.get("registry", "")), "path": "/etc/docker/certs.d/%s/ca.crt" % ca.get("registry", ""),
             "content": str(ca.get("ca", "")).strip() + "\n"} for ca in cas or [] if isinstance(ca, dict)]


def speech_docker_problems(values, look=None):
    """The docker role's settings its argument spec cannot check (the same check as preflight's check_inputs), each
    naming its variable; a URL's user information is hidden. With the host's look (ansible_facts.speech_host), the
    accounts of docker_users that do not exist there too."""
    return check.mask(check.docker_problems(dict(values or {}), look if isinstance(look, dict) else None), [])


def speech_look_merge(queries):
    """One host_facts query from the roles' queries, merged as host_facts merges its query option into its options
    (module_utils/host_look.merge_query: lists joined, each item once; flags or-ed); a key or value a look query cannot
    have fails naming it."""
    merged, problems = {}, []
    for query in queries or []:
        merged, found = host_look.merge_query(merged, query or {})
        problems.extend(found)
    if problems:
        raise AnsibleFilterError("speech_look_merge: %s" % "; ".join(problems))
    return merged


class FilterModule(object):
    def filters(self):
        return {
            "speech_docker_drift": speech_docker_drift,
            "speech_gstreamer_drift": speech_gstreamer_drift,
            "speech_look_covers": speech_look_covers,
            "speech_gateway_drift": speech_gateway_drift,
            "speech_look_merge": speech_look_merge,
            "speech_docker_packages": speech_docker_packages,
            "speech_docker_cas": speech_docker_cas,
            "speech_docker_problems": speech_docker_problems,
        }
