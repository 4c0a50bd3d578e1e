# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's filters (plugins/filter/) that decide what the controller works out once, and where."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.onprem.speech.plugins.filter import fleet as fleet_filters
from ansible_collections.onprem.speech.plugins.filter import look
from ansible_collections.onprem.speech.plugins.filter import speech as speech_filters
from ansible_collections.onprem.speech.plugins.plugin_utils import check, inputs

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
GOOD = {"docker_daemon_defaults": {"log-driver": "local", "hosts": None}, "docker_daemon_options": {},
        "docker_registry_cas": [{"registry": "mirror.example:5443", "ca": PEM}], "docker_repo_url": "",
        "docker_package_source": "distro", "docker_users": []}


def test_the_role_checks_its_settings_as_check_inputs_does():
    assert look.speech_docker_problems(GOOD) == []
    bad = dict(GOOD, docker_daemon_options={"hosts": ["tcp://0.0.0.0:2375"], "registry-mirrors": ["mirror.example"]},
               docker_registry_cas=[{"registry": "https://mirror.example", "ca": "x"}], docker_users=[" "],
               docker_package_source="upstream", docker_repo_url="ftp://user:pw@repo.example/docker")
    found = look.speech_docker_problems(bad)
    assert found == [
        "docker_daemon_options: 'hosts' conflicts with -H fd:// in the packaged docker.service (dockerd would not start); use a drop-in",
        "docker_daemon_options: registry-mirrors entry 'mirror.example' needs a scheme (https://host:port)",
        "docker_registry_cas[0].registry 'https://mirror.example': give host or host:port, with no scheme or path",
        "docker_registry_cas[0].ca (https://mirror.example): not a PEM certificate (no -----BEGIN CERTIFICATE----- line)",
        "docker_repo_url 'ftp://<credentials>@repo.example/docker': give an http(s):// URL",
        "docker_users[0]: empty user name",
    ]
    # The same sentences as the collection's preflight (check_inputs), less its masking of the secrets it knows.
    assert [p for p in check.docker_problems(bad) if "repo_url" not in p] == [p for p in found if "repo_url" not in p]


def test_a_null_option_leaves_the_default_out():
    assert look.speech_docker_problems(dict(GOOD, docker_daemon_options={"registry-mirrors": None})) == []


def test_the_host_pattern_filter_has_the_input_check_read_its_files_in_the_main_process():
    """site.yml's plays template their hosts with speech_pattern before forking a worker per task and host: the
    input check's argument specs and known names are read there, once per run, and every worker inherits them."""
    inputs._CACHE.clear()  # pylint: disable=protected-access
    assert fleet_filters.speech_pattern("speech_hosts") == "speech_hosts"
    assert {"specs", "known"} <= set(inputs._CACHE)  # pylint: disable=protected-access
    assert "speech_containers_list" in inputs._CACHE["known"]  # pylint: disable=protected-access


def test_the_look_query_is_merged_as_host_facts_merges_it():
    """One merge for preflight's look (speech_look_merge) and for host_facts' query option (host_look.merge_query)."""
    docker = {"packages": ["docker*", "runc"], "files": ["/etc/docker/daemon.json"], "read": [], "services": ["docker"],
              "groups": ["docker"]}
    gstreamer = {"packages": ["gstreamer1*", "docker*"], "gstreamer_elements": True}
    merged = look.speech_look_merge([docker, gstreamer])
    assert merged == dict(docker, packages=["docker*", "runc", "gstreamer1*"], gstreamer_elements=True)
    with pytest.raises(AnsibleFilterError, match="query.speech: not a key of a look query"):
        look.speech_look_merge([docker, {"speech": True}])


def test_a_refusal_lists_every_problem_then_the_warnings_in_the_roles_one_format():
    refusal = speech_filters.speech_refusal
    assert refusal(["a: bad", "b: worse"], "Preflight", "h1", ["c: odd"]) == (
        "Preflight refused h1 (2 problems):\n  - a: bad\n  - b: worse\nWarnings:\n  - c: odd")
    assert refusal(["a: bad"], "speech_containers", "h1", []) == "speech_containers refused h1 (1 problem):\n  - a: bad"
    # Without the count (the containers the role would take, diagnostics' billing settings).
    assert refusal(["x"], "diagnostics", "h2", count=False) == "diagnostics refused h2:\n  - x"
    # A heading of its own takes the same count (the gateway's).
    assert refusal(["a", "b"], heading="The gateway on g1 was refused{count}:") == "The gateway on g1 was refused (2 problems):\n  - a\n  - b"
    assert refusal(["a"], heading="The gateway on g1 was refused{count}:") == "The gateway on g1 was refused (1 problem):\n  - a"


def test_every_refusal_of_the_collection_is_built_by_one_function_with_its_own_heading():
    # check_inputs' message and the gateway's heading, through plugin_utils/check.py's refusal.
    assert check.refusal("onprem.speech refused the input for h1 (2 problems):", ["a", "b"]) == (
        "onprem.speech refused the input for h1 (2 problems):\n  - a\n  - b")
    assert speech_filters.speech_refusal(["a"], heading="The gateway on g1 was refused (1 problems):") == (
        "The gateway on g1 was refused (1 problems):\n  - a")
