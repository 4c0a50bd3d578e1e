# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator's input, checked against the roles' own argument specs (controller side only).

One spec: each role's meta/argument_specs.yml. Values are checked and converted with
Ansible's own ArgumentSpecValidator (so "30", "yes", "0.5" are read as Ansible reads
them), and its errors are put into the collection's words: each problem starts with
the variable it is about (speech_containers_list[2] (tts).host_port) and says what is
allowed, and a secret's value is never quoted.

known_names() also lists the facts and registered results the roles and playbooks
make, so that a misspelt variable with a role's prefix can be told from them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import glob
import os
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.six import string_types
from ansible_collections.onprem.speech.plugins.module_utils import text as textutil

try:
    import yaml
except ImportError:  # pragma: no cover  (ansible-core depends on PyYAML)
    yaml = None

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLES = ("preflight", "docker", "gstreamer", "speech_containers", "diagnostics", "gateway")
PREFIXES = ("speech_containers_", "preflight_", "docker_", "gstreamer_", "diagnostics_", "gateway_",
            "speech_rollout_", "speech_report_", "speech_stop_", "speech_diagnostics_", "speech_gateways")
# Settings the playbooks read (play keywords and the report): not a role's options.
PLAY_SETTINGS = {
    "speech_hosts": {"type": "str", "default": "speech_hosts"},
    "speech_gateways": {"type": "str", "default": "speech_gateways"},
    "speech_rollout_serial": {"type": "raw", "default": 1},
    "speech_rollout_max_fail_percentage": {"type": "raw", "default": 0},
    "speech_stop_on_refusal": {"type": "bool", "default": False},
    "speech_diagnostics_gate": {"type": "bool", "default": False},
    "speech_report_dir": {"type": "str", "default": "./speech-report"},
    # The host's lock (site.yml): how old a holder's start may be before its lock counts as abandoned, and breaking it.
    "speech_lock_max_age": {"type": "int", "default": 7200},
    "speech_lock_break": {"type": "bool", "default": False},
}
TYPE_WORDS = {"str": "a string", "path": "a path", "int": "a whole number", "float": "a number", "bool": "true or false",
              "list": "a list", "dict": "a mapping", "raw": "a value"}
SECRET_WORDS = ("key", "password", "secret", "token", "credential")
_CACHE = {}


def _load_yaml(path):
    """A YAML file's data, with libyaml's loader where PyYAML has it: check_inputs reads every task, vars and spec file
    of the collection on every host of every run (in a fresh worker process each time), 0.5 s with the pure-Python
    loader against 0.07 s (bench/BENCHMARKS.md)."""
    with open(path) as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}


def role_specs():
    """{role: {entry point: options}} of every role's meta/argument_specs.yml (read once)."""
    if "specs" not in _CACHE:
        specs = {}
        for role in ROLES:
            path = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
            entries = (_load_yaml(path).get("argument_specs") or {}) if os.path.exists(path) else {}
            specs[role] = dict((entry, (data or {}).get("options") or {}) for entry, data in entries.items())
        _CACHE["specs"] = specs
    return _CACHE["specs"]


def options_of(role, entry="main"):
    return role_specs().get(role, {}).get(entry, {})


def all_options():
    """{variable: option spec} of every role's main entry point and the play settings."""
    found = dict(PLAY_SETTINGS)
    for role in ROLES:
        for entry, options in role_specs()[role].items():
            for name, spec in options.items():
                found.setdefault(name, spec)
    return found


def _made_names(node, found):
    """Facts (set_fact keys), registered results and block/task vars of a tasks file's data."""
    if isinstance(node, list):
        for item in node:
            _made_names(item, found)
    elif isinstance(node, dict):
        if isinstance(node.get("register"), string_types):
            found.add(node["register"])
        for key in ("ansible.builtin.set_fact", "set_fact"):
            if isinstance(node.get(key), dict):
                found.update(k for k in node[key] if k != "cacheable")
        if isinstance(node.get("vars"), dict):
            found.update(node["vars"])
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            _made_names(node.get(key), found)


def known_names():
    """Every variable name the collection knows: role options, play settings, and what its roles and playbooks set."""
    if "known" not in _CACHE:
        known = set(all_options())
        files = glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")) + glob.glob(os.path.join(ROOT, "roles", "*", "handlers", "*.yml"))
        files += glob.glob(os.path.join(ROOT, "playbooks", "*.yml")) + glob.glob(os.path.join(ROOT, "playbooks", "tasks", "*.yml"))
        for path in files:
            _made_names(_load_yaml(path) if os.path.getsize(path) else [], known)
        for path in glob.glob(os.path.join(ROOT, "roles", "*", "vars", "*.yml")) + glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "*.yml")):
            known.update(_load_yaml(path))
        _CACHE["known"] = known
    return _CACHE["known"]


def warm():
    """Read the argument specs and the collection's files now (site.yml's plays call this through the speech_pattern
    filter, in the controller's main process, before any worker is forked): every preflight worker inherits them,
    instead of each reading them again for its host (bench/BENCHMARKS.md)."""
    role_specs()
    known_names()


def ours(name):
    """Whether a name has a prefix of the collection's roles or play settings."""
    return name.startswith(PREFIXES)


def unknown(names):
    """Problems for the names no role or playbook knows that have a role's prefix, or that are one slip away from a
    known name (speech_container_eula), with the nearest known name."""
    known = known_names()
    problems = []
    for name in sorted(set(names)):
        if name in known:
            continue
        near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        if not ours(name):
            # Another prefix (speech_...): the operator's own variable, unless it is a slip of one of ours.
            near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.9)
            if not near:
                continue
        problems.append("%s: no role or playbook of onprem.speech has this variable%s" % (
            name, "; did you mean %s?" % near[0] if near else " (it has a prefix of theirs: remove or rename it)"))
    return problems


def is_secret(name, spec=None):
    return bool((spec or {}).get("no_log")) or any(word in name.lower() for word in SECRET_WORDS)


def _clean(options):
    """An argument spec Ansible's validator takes: no templated defaults, no documentation keys."""
    clean = {}
    for name, spec in (options or {}).items():
        item = dict((k, v) for k, v in spec.items() if k in ("type", "elements", "choices", "required", "default", "options", "no_log"))
        if isinstance(item.get("default"), string_types) and "{{" in item["default"]:
            item.pop("default")
        if item.get("options"):
            item["options"] = _clean(item["options"])
        if item.get("type") == "path":
            # Ansible expands ~ and $VARS in paths; the collection wants the operator's path as written.
            item["type"] = "str"
        clean[name] = item
    return clean


def _words(value, name, spec, limit=60):
    if is_secret(name, spec):
        return "the value"
    return textutil.excerpt(repr(value), limit)


PATTERNS = (
    ("choices", re.compile(r"value of (?P<field>\S+) must be one or more of: (?P<choices>.*)\. Got no match for: (?P<got>.*?)(?: found in .*)?$")),
    ("type", re.compile(r"argument '(?P<field>[^']+)' is of type (?P<got>.+?)(?: found in '[^']*')?\.? and we were unable to convert to (?P<to>\w+)")),
    ("choice", re.compile(r"value of (?P<field>\S+) must be one of: (?P<choices>.*), got: (?P<got>.*?)(?: found in .*)?$")),
    ("required", re.compile(r"missing required arguments: (?P<fields>.*?)(?: found in .*)?$")),
    ("elements", re.compile(r"Elements value for option '(?P<field>[^']+)'.* is of type (?P<got>\S+) and we were unable to convert to (?P<to>\w+)")),
)


def translate(error, where, values, options):
    """[(option, problem)] in the collection's words for one of the validator's errors (option None when unknown)."""
    message = str(getattr(error, "msg", error))
    for kind, pattern in PATTERNS:
        found = pattern.search(message)
        if not found:
            continue
        if kind == "required":
            return [(field.strip(), "%s.%s: missing" % (where, field.strip()) if where else "%s: missing" % field.strip())
                    for field in found.group("fields").split(",")]
        field = found.group("field")
        spec = options.get(field) or {}
        target = "%s.%s" % (where, field) if where else field
        value = values.get(field)
        if kind == "choices":
            got = ", ".join(repr(g.strip()) for g in found.group("got").split(","))
            return [(field, "%s: %s is not allowed; allowed: %s" % (target, got, found.group("choices")))]
        if kind == "choice":
            return [(field, "%s: %s is not allowed; allowed: %s" % (target, _words(value, field, spec), found.group("choices")))]
        if kind == "elements":
            return [(field, "%s: each element must be %s" % (target, TYPE_WORDS.get(found.group("to"), found.group("to"))))]
        want = spec.get("type") or found.group("to")
        return [(field, "%s: %s is not %s" % (target, _words(value, field, spec), TYPE_WORDS.get(want, want)))]
    return [(None, "%s: %s" % (where, message) if where else message)]


def string_for_list(name, value):
    """The problem of a string given where a list is meant (never split: not on commas, not letter by letter)."""
    return "%s: %r is a string; give a list, such as [%s] (a string is never split)" % (name, str(value), str(value))


def validate(options, values, where=""):
    """(converted values, problems) of values against options (a role's argument spec part).

    Only the given values are checked and returned; unknown keys are problems (with the nearest option),
    and so are the values that failed: they are left out of the converted values."""
    values = dict(values or {})
    clean = _clean(options)
    problems = []
    unknown_keys = sorted(k for k in values if k not in clean)
    for key in unknown_keys:
        near = difflib.get_close_matches(key, sorted(clean), n=1, cutoff=0.6)
        problems.append("%s: unknown option%s; allowed: %s" % ("%s.%s" % (where, key) if where else key,
                                                               " (did you mean %s?)" % near[0] if near else "", ", ".join(sorted(clean))))
        values.pop(key)
    given = dict((k, clean[k]) for k in values)
    for name, spec in clean.items():
        if spec.get("required") and name not in given:
            given[name] = spec
    failed = set()
    # A string where a list is meant: Ansible's validator would split it on commas and take it, and a role that loops
    # over the value would take it letter by letter (docker_users: deploy made the accounts d, e, p, l, o, y).
    for name, spec in given.items():
        if spec.get("type") == "list" and isinstance(values.get(name), string_types):
            problems.append(string_for_list("%s.%s" % (where, name) if where else name, values[name]))
            failed.add(name)
    # Only the given options are validated: their defaults are the roles' own, typed right.
    result = ArgumentSpecValidator(dict((k, dict((kk, vv) for kk, vv in v.items() if kk != "default")) for k, v in given.items())).validate(values)
    for error in result.errors:
        for field, problem in translate(error, where, values, clean):
            failed.add(field)
            if problem not in problems:
                problems.append(problem)
    converted = dict((k, result.validated_parameters.get(k)) for k in values if k not in failed)
    return converted, problems


def _kind_of(value):
    """What a value is, in the words of YAML (Ansible's own classes have names like _AnsibleTaggedDict)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, string_types):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "a %s" % type(value).__name__


def validate_entries(items, varname="speech_containers_list"):
    """(converted entries, problems) of a container list, each entry against the list's own options.

    Entries that are not mappings are reported and left out."""
    options = options_of("speech_containers").get("speech_containers_list", {}).get("options") or {}
    converted, problems = [], []
    if items is None:
        return [], []
    if not isinstance(items, list):
        return [], ["%s: must be a list of containers (a mapping each), got %s" % (varname, _kind_of(items))]
    for index, item in enumerate(items):
        where = "%s[%d]" % (varname, index)
        if not isinstance(item, dict):
            problems.append("%s: %s; each container is a mapping with at least name, kind and host_port"
                            % (where, "empty (a lone '-' in the list?)" if item is None else "not a mapping but %s" % type(item).__name__))
            converted.append(None)
            continue
        if isinstance(item.get("name"), string_types) and item.get("name"):
            where = "%s (%s)" % (where, item["name"])
        values, found = validate(options, item, where)
        problems.extend(found)
        converted.append(values)
    return converted, problems
