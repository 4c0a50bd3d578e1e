# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container's docker_options: community.docker.docker_container options the collection does not model (controller only).

They are checked against the argument spec of the community.docker installed beside the controller, read from that
collection (never copied here), before any change:

  - an option community.docker.docker_container does not have is refused, naming it (with the closest name);
  - an option the collection sets itself is refused with "set X instead" (OWNED);
  - a mount or volume on a path the collection mounts, and a label in the collection's own namespace, are refused;
  - each value is checked against the option's type by Ansible's own validator, as the module will.

What passes reaches the container through the role's create task (roles/speech_containers/tasks/containers.yml), which
names every option of PASS_THROUGH; tests/unit keeps that task and this list equal. The options are part of the
container's spec, so a change to them replaces the container through the transaction.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.onprem.speech.plugins.module_utils import speech_kinds as sk
from ansible_collections.onprem.speech.plugins.module_utils.labels import LABEL_PREFIX

# The options the collection sets from its own settings, and where the operator sets them instead.
OWNED = {
    "image": "kind, version, locale, voice, tag or digest",
    "name": "name",
    "command": "settings (and log_level, model_id, output_dir, disk_logging, disconnected)",
    "entrypoint": "nothing: the image's own entry point reads the container's settings",
    "env": "env (and speech_containers_secret_env for secrets)",
    "env_file": "env (and speech_containers_secret_env for secrets)",
    "published_ports": "host_port and host_ip",
    "exposed_ports": "host_port",
    "publish_all_ports": "host_port",
    "cpus": "cpus",
    "memory": "memory",
    "restart_policy": "speech_containers_restart_policy",
    "restart_retries": "speech_containers_restart_policy",
    "auto_remove": "nothing: the transaction keeps the replaced container, stopped, until its successor is ready",
    "detach": "nothing: the containers run detached",
    "image_label_mismatch": "nothing",
}
_SPEC = []


def container_spec():
    """community.docker.docker_container's container options (name -> Ansible option spec) and that collection's version,
    from the installed collection; read once per process (every container's check and every plan of a run ask)."""
    if not _SPEC:
        _SPEC.append(_read_container_spec())
    return _SPEC[0]


def _read_container_spec():
    # The engine driver registers itself with the options it supports; the module uses the docker_api one.
    from ansible_collections.community.docker.plugins.module_utils.module_container import base
    from ansible_collections.community.docker.plugins.module_utils.module_container import docker_api  # noqa: F401
    spec = {}
    for options in base.OPTIONS:
        if options.supports_engine("docker_api"):
            spec.update(options.argument_spec)
    return spec, community_docker_version()


def community_docker_version():
    import json
    import os
    from ansible_collections.community.docker.plugins.module_utils.module_container import base
    # .../community/docker/plugins/module_utils/module_container/base.py
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(base.__file__)))))
    manifest = os.path.join(root, "MANIFEST.json")
    try:
        with open(manifest) as handle:
            return json.load(handle)["collection_info"]["version"]
    except (IOError, OSError, ValueError, KeyError):
        return "?"


# The options the role's create task passes on: every container option of community.docker.docker_container that the
# collection does not own (kept equal to the task by tests/unit/plugins/plugin_utils/test_docker_options.py).
def pass_through(spec=None):
    spec = spec if spec is not None else container_spec()[0]
    return sorted(name for name in spec if name not in OWNED)


def _canonical(spec):
    names = {}
    for name, option in spec.items():
        names[name] = name
        for alias in option.get("aliases") or []:
            names[alias] = name
    return names


def _targets(value, field):
    for entry in value or []:
        if isinstance(entry, dict):
            yield entry.get(field)
        elif isinstance(entry, str):
            # A volume: source:target[:mode], or a bare target.
            parts = entry.split(":")
            yield parts[1] if len(parts) > 1 else parts[0]


def _without_none(value):
    """A validated value without the suboptions the validator filled in as None (they mean "not set" to the module)."""
    if isinstance(value, dict):
        return dict((k, _without_none(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def check(options, where, spec=None, version=None, passed=None):
    """(options with canonical names, problems) of one container's docker_options; problems each name the option."""
    if spec is None:
        spec, version = container_spec()
    version = version or "?"
    passed = set(passed if passed is not None else pass_through(spec))
    problems = []
    if options is None:
        return {}, problems
    if not isinstance(options, dict):
        return {}, ["%s.docker_options: must be a mapping of community.docker.docker_container options, got %s" % (where, type(options).__name__)]
    names = _canonical(spec)
    wanted = {}
    for key, value in options.items():
        key = str(key)
        name = names.get(key)
        if name is None:
            close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.8)
            problems.append("%s.docker_options.%s: community.docker.docker_container %s has no such container option%s"
                            % (where, key, version, " (did you mean %s?)" % close[0] if close else ""))
            continue
        if name in OWNED:
            problems.append("%s.docker_options.%s: the collection sets it; set %s instead" % (where, key, OWNED[name]))
            continue
        if name not in passed:
            problems.append("%s.docker_options.%s: an option of community.docker.docker_container %s that this version of onprem.speech "
                            "does not pass on yet" % (where, key, version))
            continue
        wanted[name] = value
    if wanted:
        result = ArgumentSpecValidator(dict((name, spec[name]) for name in wanted)).validate(wanted)
        for error in result.errors:
            problems.append("%s.docker_options: %s" % (where, error))
        wanted = dict((name, _without_none(result.validated_parameters.get(name))) for name in wanted)
    ours = set(sk.CONTAINER_PATHS.values())
    for field, key in (("mounts", "target"), ("volumes", None)):
        for target in _targets(wanted.get(field), key):
            if target and target.rstrip("/") in ours:
                purpose = [p for p, path in sk.CONTAINER_PATHS.items() if path == target.rstrip("/")][0]
                problems.append("%s.docker_options.%s: %s is mounted by the collection; set %s_dir instead" % (where, field, target, purpose))
    for label in (wanted.get("labels") or {}):
        if str(label).startswith(LABEL_PREFIX):
            problems.append("%s.docker_options.labels: %s is in the collection's own namespace (%s*); pick another name"
                            % (where, label, LABEL_PREFIX))
    return wanted, problems
