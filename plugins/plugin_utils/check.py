# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every input of the collection, checked at once on the controller (the check_inputs action).

check_all() takes the variables the operator gave (templated; secrets included, as they
must be checked) and returns the problems, each naming its variable, never quoting a
secret. Types and choices come from the roles' argument specs (inputs.py); what they
cannot say is checked here: the container plan (plan.py), billing, the registry and its
credentials, whitespace in secrets and URLs, directories a container must never be given,
Docker's own limits, the docker role's settings, and the play-level settings, including
those set where the playbooks cannot read them (the inventory, for play keywords).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.six import string_types
from ansible_collections.onprem.speech.plugins.plugin_utils import inputs
from ansible_collections.onprem.speech.plugins.plugin_utils import plan as planner

# Keyword-only play settings: Ansible templates play keywords with extra vars and the play's vars only.
KEYWORD_SETTINGS = ("speech_hosts", "speech_gateways", "speech_rollout_serial", "speech_rollout_max_fail_percentage")
SECRETS = ("speech_containers_api_key", "speech_containers_registry_password", "preflight_api_key", "diagnostics_api_key",
           "diagnostics_registry_password")
NO_SPACE = ("speech_containers_billing_endpoint", "speech_containers_registry", "speech_containers_registry_username",
            "preflight_billing_endpoint", "diagnostics_billing_endpoint", "diagnostics_registry", "diagnostics_registry_username")
# Directories a container's data must never be: the system's own (the role would chown them).
SYSTEM_DIRS = frozenset(("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt", "/opt",
                         "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/local",
                         "/usr/local/bin", "/usr/sbin", "/usr/share", "/var", "/var/cache", "/var/lib", "/var/lib/docker", "/var/log",
                         "/var/run", "/var/spool", "/var/tmp", "/var/mail", "/var/opt", "/var/www"))
DOCKER_MIN_MEMORY_MB = 6
DOCKER_MIN_CPUS = 0.01
UNDEFINED_RE = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined")


def refusal(heading, problems, warnings=()):
    """A refusal as every role and check of the collection words it: the heading, one problem per line, then the
    warnings: "Preflight refused h1 (2 problems):\n  - ...\nWarnings:\n  - ..."."""
    text = "\n  - ".join([heading] + [str(p) for p in problems or []])
    warnings = [str(w) for w in warnings or []]
    return text + ("\n" + "\n  - ".join(["Warnings:"] + warnings) if warnings else "")


def count_words(count):
    """ " (1 problem)", " (3 problems)": a refusal's count."""
    return " (%d problem%s)" % (count, "" if count == 1 else "s")


def relevant(name):
    """Whether the check looks at this variable: a role's prefix, a play setting, or another speech_ name (for slips)."""
    return name.startswith(inputs.PREFIXES) or name.startswith("speech_")


def reported(name):
    """Whether a variable that cannot be templated is the collection's to report (others are the operator's own)."""
    return inputs.ours(name) or name in inputs.known_names()


def undefined_problem(name, error_text):
    """A variable whose value cannot be templated: name the undefined variable it refers to."""
    found = UNDEFINED_RE.search(error_text or "")
    if found and found.group(1) != name:
        return ("%s: refers to %s, which is not defined (a vault file that is not loaded for this host, or a misspelt name?)"
                % (name, found.group(1)))
    return "%s: cannot be read: %s" % (name, "its value is a secret" if inputs.is_secret(name) else (error_text or "").splitlines()[0][:200])


def whitespace_problem(name, value, secret):
    if not isinstance(value, string_types) or not value:
        return None
    if value != value.strip():
        hint = " (a YAML | block ends with a newline: use a plain or quoted string)" if value.endswith("\n") else ""
        return "%s: has leading or trailing whitespace%s" % (name, hint)
    if re.search(r"\s", value):
        return "%s: contains whitespace%s" % (name, " (a pasted space?)" if secret else "")
    return None


def serial_problem(value):
    """Ansible's serial: a whole number of 1 or more, a percentage 1%-100%, or a list of them."""
    items = value if isinstance(value, list) else [value]
    if not items:
        return "speech_rollout_serial: an empty list; give a number of hosts per batch (1 or more) or a percentage (1%-100%)"
    for item in items:
        text = str(item).strip()
        number = text[:-1] if text.endswith("%") else text
        if isinstance(item, bool) or not number.isdigit():
            return "speech_rollout_serial: %r is not a number of hosts (1 or more) or a percentage (1%%-100%%)" % (item,)
        if int(number) < 1 or (text.endswith("%") and int(number) > 100):
            return ("speech_rollout_serial: %s would %s; give 1 or more hosts per batch, or 1%%-100%%"
                    % (text, "not roll at all (0 hosts per batch)" if int(number) < 1 else "be more than the whole fleet"))
    return None


def percentage_problem(name, value):
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        return "%s: %r is not a number (a percentage of failed hosts, 0-100)" % (name, value)
    if isinstance(value, bool) or not 0 <= number <= 100:
        return "%s: %r; give a percentage of failed hosts, 0-100" % (name, value)
    return None


def path_problem(name, path):
    if not isinstance(path, string_types) or not path:
        return None
    if not path.startswith("/"):
        return "%s: %r is not an absolute path" % (name, path)
    normal = "/" + "/".join(p for p in path.split("/") if p and p != ".")
    if ".." in path.split("/"):
        return "%s: %r has '..' in it; give the directory's own absolute path" % (name, path)
    if normal in SYSTEM_DIRS:
        return ("%s: %s is a system directory; the role would give it to the container's user: give a directory of its own, such as "
                "%s/speech" % (name, normal, normal.rstrip("/")))
    return None


def docker_problems(values, look=None):
    """The docker role's settings the argument spec cannot check (the role's own preflight reads the same); with the
    host's look (host_facts' speech_host), also the accounts of docker_users that do not exist there."""
    problems = []
    options = values.get("docker_daemon_options") or {}
    defaults = values.get("docker_daemon_defaults") or {}
    merged = dict(defaults)
    merged.update(options if isinstance(options, dict) else {})
    if "hosts" in merged and merged["hosts"] is not None:
        problems.append("docker_daemon_options: 'hosts' conflicts with -H fd:// in the packaged docker.service (dockerd would not start); use a drop-in")
    for mirror in merged.get("registry-mirrors") or []:
        if not re.match(r"^https?://", str(mirror)):
            problems.append("docker_daemon_options: registry-mirrors entry %r needs a scheme (https://host:port)" % mirror)
    for index, entry in enumerate(values.get("docker_registry_cas") or []):
        if not isinstance(entry, dict):
            problems.append("docker_registry_cas[%d]: give a mapping with registry and ca" % index)
            continue
        registry = str(entry.get("registry") or "")
        if not registry.strip() or "/" in registry or re.search(r"\s", registry):
            problems.append("docker_registry_cas[%d].registry %r: give host or host:port, with no scheme or path" % (index, registry))
        if "-----BEGIN CERTIFICATE-----" not in str(entry.get("ca") or ""):
            problems.append("docker_registry_cas[%d].ca (%s): not a PEM certificate (no -----BEGIN CERTIFICATE----- line)" % (index, registry))
    url = values.get("docker_repo_url") or ""
    if url and values.get("docker_package_source", "distro") == "upstream" and not re.match(r"^(https?|file)://", url):
        problems.append("docker_repo_url %r: give an http(s):// URL" % url)
    users = values.get("docker_users") or []
    if isinstance(users, string_types):
        problems.append(inputs.string_for_list("docker_users", users))
        users = []
    for index, user in enumerate(users):
        if not str(user).strip():
            problems.append("docker_users[%d]: empty user name" % index)
    # The look (host_facts' users) says which accounts exist: the collection adds accounts to the docker group, and never
    # creates one (an account made by a typo would have root-equivalent rights through the engine).
    found = (look or {}).get("users") or {}
    for index, user in enumerate(users):
        if str(user).strip() and found.get(str(user)) is False:
            problems.append("docker_users[%d]: the account %r does not exist on this host; the collection never creates accounts "
                            "(create it first, or take it out of docker_users)" % (index, str(user)))
    return problems


def container_problems(plan_result, entries, varname):
    """Docker's own limits and the directories, per container of the plan."""
    problems = []
    for spec in plan_result["plan"]:
        index = [i for i, e in enumerate(entries) if isinstance(e, dict) and e.get("name") == spec["name"]]
        where = "%s[%d] (%s)" % (varname, index[0], spec["name"]) if index else "%s (%s)" % (varname, spec["name"])
        if spec["memory_mb"] < DOCKER_MIN_MEMORY_MB:
            problems.append("%s.memory: %s is below Docker's minimum of %d MB" % (where, spec["memory"], DOCKER_MIN_MEMORY_MB))
        if 0 < spec["cpus"] < DOCKER_MIN_CPUS:
            problems.append("%s.cpus: %s is below Docker's minimum of %s" % (where, spec["cpus"], DOCKER_MIN_CPUS))
        host_ip = spec.get("host_ip") or "0.0.0.0"
        if not planner.is_ip(host_ip):
            problems.append("%s.host_ip: %r is not an IP address (Docker publishes on addresses, not names such as localhost)" % (where, host_ip))
        for directory in spec["dirs"]:
            problem = path_problem("%s.%s_dir" % (where, directory["purpose"]), directory["path"])
            if problem:
                problems.append(problem)
        proxy = (spec.get("env") or {}).get("HTTP_PROXY")
        if proxy and re.search(r"\s", proxy):
            problems.append("%s.http_proxy: contains whitespace" % where)
    return problems


# The user information of a URL anywhere in a string (a proxy's http://user:password@host:port).
URL_USERINFO_RE = re.compile(r"://[^/@\s]+@")
MIN_SECRET_LENGTH = 6


def _strings(value):
    """Every string in value, however deep."""
    if isinstance(value, string_types):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else []
    found = []
    for item in items:
        found.extend(_strings(item))
    return found


def secret_values(values):
    """The values of every secret given (the API key, passwords, the gateway's client keys, secret_env), longest first."""
    found = set()
    for name, value in values.items():
        if inputs.is_secret(name) or name == "speech_containers_secret_env":
            found.update(s.strip() for s in _strings(value) if len(s.strip()) >= MIN_SECRET_LENGTH)
    return sorted(found, key=len, reverse=True)


def mask(value, secrets):
    """value with every secret in it replaced by <hidden>, and every URL's user information by <credentials>
    (plan.redact and plan.redact_userinfo's markers), however deep."""
    if isinstance(value, string_types):
        return URL_USERINFO_RE.sub("://<credentials>@", planner.redact(value, *secrets))
    if isinstance(value, dict):
        return dict((k, mask(v, secrets)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [mask(item, secrets) for item in value]
    return value


def check_all(values, given_by_play=(), unreadable=()):
    """{problems, warnings, inputs} of the variables given (name -> templated value).

    unreadable: variables that could not be templated (already reported): not said to be missing too."""
    problems, warnings = [], []
    names = set(values)
    problems.extend(inputs.unknown(names))

    # Types and choices, from each role's argument spec (the container lists have their own check, with indexes).
    options = inputs.all_options()
    typed = dict((k, v) for k, v in values.items() if k in options and k not in ("speech_containers_list", "preflight_containers")
                 and k not in inputs.PLAY_SETTINGS)
    converted, found = inputs.validate(dict((k, options[k]) for k in typed), typed)
    problems.extend(found)
    merged = dict(values)
    merged.update(converted)

    # Secrets and URLs: no whitespace; a secret is never quoted.
    for name in SECRETS + NO_SPACE:
        problem = whitespace_problem(name, merged.get(name), name in SECRETS)
        if problem:
            problems.append(problem)
    for name, entries in (merged.get("speech_containers_secret_env") or {}).items():
        for key, value in (entries or {}).items() if isinstance(entries, dict) else []:
            if isinstance(value, string_types) and value != value.strip():
                problems.append("speech_containers_secret_env[%s].%s: has leading or trailing whitespace" % (name, key))
            if str(key).lower() in planner.BILLING_KEYS:
                problems.append("speech_containers_secret_env[%s].%s: would override a billing setting the role sets (from "
                                "speech_containers_eula, speech_containers_billing_endpoint, speech_containers_api_key); remove it" % (name, key))

    # The play settings.
    if "speech_rollout_serial" in merged:
        problem = serial_problem(merged["speech_rollout_serial"])
        if problem:
            problems.append(problem)
    if "speech_rollout_max_fail_percentage" in merged:
        problem = percentage_problem("speech_rollout_max_fail_percentage", merged["speech_rollout_max_fail_percentage"])
        if problem:
            problems.append(problem)
    play_names = ("speech_stop_on_refusal", "speech_diagnostics_gate", "speech_report_dir", "speech_hosts", "speech_lock_max_age", "speech_lock_break")
    play_typed = dict((k, merged[k]) for k in play_names if k in merged)
    converted, found = inputs.validate(dict((k, inputs.PLAY_SETTINGS[k]) for k in play_typed), play_typed)
    problems.extend(found)
    merged.update(converted)
    for name in KEYWORD_SETTINGS:
        if name in values and name not in given_by_play:
            problems.append("%s: set in the inventory (group_vars or host_vars), where Ansible cannot read it: play keywords are read before "
                            "the inventory, so the playbooks would ignore it. Give it with -e, or in the vars of the play that imports "
                            "onprem.speech.site" % name)

    # The container plan, billing and the role's settings.
    varname = "speech_containers_list"
    entries = merged.get("speech_containers_list")
    if "preflight_containers" in merged and merged["preflight_containers"] != entries:
        varname, entries = "preflight_containers", merged["preflight_containers"]
    plan_result = planner.normalize_plan(entries, registry=merged.get("speech_containers_registry"),
                                         data_dir=merged.get("preflight_data_dir") or merged.get("speech_containers_data_dir")
                                         or "/var/lib/onprem-speech",
                                         state=merged.get("speech_containers_state") or "started",
                                         allow_undersized=bool(merged.get("preflight_allow_undersized",
                                                                          merged.get("speech_containers_allow_undersized", False))),
                                         varname=varname, force_state=merged.get("speech_containers_force_state") or None,
                                         billing_in=merged.get("speech_containers_billing_in") or "env",
                                         image_policy=merged.get("speech_containers_image_policy") or "missing")
    problems.extend(plan_result["problems"])
    warnings.extend(plan_result["warnings"])
    problems.extend(container_problems(plan_result, entries if isinstance(entries, list) else [], varname))
    key_present = bool(merged.get("preflight_api_key") or merged.get("speech_containers_api_key"))
    eula = merged.get("preflight_eula", merged.get("speech_containers_eula", ""))
    endpoint = merged.get("preflight_billing_endpoint", merged.get("speech_containers_billing_endpoint", ""))
    problems.extend(planner.check_billing(plan_result["plan"], eula, endpoint, key_present))
    settings = dict((k[len("speech_containers_"):], merged[k]) for k in merged if k.startswith("speech_containers_"))
    settings["registry_password_present"] = bool(merged.get("speech_containers_registry_password"))
    settings.pop("registry_password", None)
    settings.pop("api_key", None)
    problems.extend(planner.check_settings(settings))
    data_dir_problem = path_problem("speech_containers_data_dir", merged.get("speech_containers_data_dir"))
    if data_dir_problem:
        problems.append(data_dir_problem)
    problems.extend(docker_problems(merged))

    # Nothing secret in what is handed back (the action's result is printed at -v): only the collection's own
    # variables, none that is a secret, and any secret's value copied into another one masked.
    secrets = secret_values(merged)
    safe = dict((k, mask(v, secrets)) for k, v in merged.items()
                if reported(k) and not inputs.is_secret(k) and k not in ("speech_containers_secret_env",))
    unique = []
    for problem in problems:
        if problem not in unique and not any(problem.startswith(name + ": missing") for name in unreadable):
            unique.append(problem)
    # A problem quotes the value it is about: a secret in it is masked too.
    return {"problems": mask(unique, secrets), "warnings": mask(warnings, secrets), "inputs": safe, "plan": mask(plan_result["plan"], secrets),
            "list_given": entries is not None, "list_name": varname}
