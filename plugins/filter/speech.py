# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the container plan; the logic lives in plugin_utils/plan.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.speech.plugins.module_utils import container_ops
from ansible_collections.onprem.speech.plugins.plugin_utils import check
from ansible_collections.onprem.speech.plugins.plugin_utils import plan as speech_plan_utils


def speech_container_params(names, items, endpoint="", api_key="", billing_in="env", secret_env=None, restart_policy="unless-stopped"):
    """community.docker.docker_container's options (with the secrets: use no_log) for creating each named container of
    the changes' items (speech_containers_changes.apply), in the order of names."""
    specs = dict((item["name"], item) for item in items or [])
    try:
        return [dict(container_ops.container_params(specs[name], endpoint, api_key, billing_in, (secret_env or {}).get(name) or {},
                                                    restart_policy), step="create")
                for name in names or []]
    except KeyError as error:
        raise AnsibleFilterError("speech_container_params: no spec for %s among the changes" % error)


def speech_previous_steps(names):
    """The <name>.previous containers of replaced containers, as steps of community.docker.docker_container's loop."""
    return [{"name": name, "target": name + container_ops.PREVIOUS_SUFFIX, "step": "drop_previous"} for name in names or []]


def speech_step_failure(result, *secrets):
    """What failed, from a failed task's result (ansible_failed_result): a community.docker.docker_container loop's failed
    item as "<name>: <step> failed: <Docker's words>" (its item names the step), else the result's own msg. Secrets removed."""
    result = result or {}
    for item_result in result.get("results") or []:
        if isinstance(item_result, dict) and item_result.get("failed"):
            item = item_result.get("item") or {}
            if isinstance(item, dict) and item.get("step") and item.get("name"):
                return speech_plan_utils.redact(container_ops.step_failure(item["name"], item["step"], item_result.get("msg")), *secrets)
            return speech_plan_utils.redact(item_result.get("msg") or "failed", *secrets)
    return speech_plan_utils.redact(result.get("msg") or "failed", *secrets)


def speech_plan(containers, registry=None, data_dir="/var/lib/onprem-speech", state="started", billing_fp="",
                allow_undersized=False, varname="speech_containers_list", force_state=None, billing_in="env", image_policy="missing",
                secret_fps=None):
    """The operator's container list -> {plan, problems, warnings}."""
    return speech_plan_utils.normalize_plan(containers, registry=registry, data_dir=data_dir, state=state, billing_fp=billing_fp,
                                            allow_undersized=bool(allow_undersized), varname=varname, force_state=force_state or None,
                                            billing_in=billing_in, image_policy=image_policy, secret_fps=secret_fps)


def speech_billing_problems(plan, eula, endpoint, api_key_present, names=None):
    """Problems with the billing settings (the key itself never passes through here)."""
    return speech_plan_utils.check_billing(plan, eula, endpoint, bool(api_key_present), names=names)


def speech_host_check(facts, plan, min_core_mhz, strict_clock=False, min_free_gb=0, names=None):
    """Host facts against the plan -> {problems, warnings, summary}."""
    try:
        return speech_plan_utils.check_host(facts, plan, min_core_mhz=int(min_core_mhz), strict_clock=bool(strict_clock),
                                            min_free_mb=int(float(min_free_gb) * 1024), names=names)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("speech_host_check: %s" % exc)


def speech_placement_check(facts, plan, varname="speech_containers_list", list_given=True, remove_unlisted=None, billing_endpoint="",
                           adopt_dirs=False):
    """What only the host can tell (addresses, ports held by stopped containers, directories, the billing name) -> {problems, warnings}."""
    return speech_plan_utils.check_placement(facts, plan, varname, bool(list_given), remove_unlisted, billing_endpoint, bool(adopt_dirs))


def speech_dir_paths(plan, data_dir=None):
    """The directories a plan's containers mount, and the data directory: what preflight asks the host about.

    Only absolute paths: a relative one is refused by the input check, naming its variable."""
    paths = sorted(set(d["path"] for spec in plan for d in spec["dirs"] if str(d["path"]).startswith("/")))
    return paths + ([data_dir] if data_dir and data_dir.startswith("/") and data_dir not in paths else [])


def speech_url_host(url):
    """The host name of a URL (for the host to resolve), or "" when it is not a URL."""
    found = speech_plan_utils.parse_url(url or "")
    return found["host"].strip("[]") if found else ""


def speech_billing_fingerprint(endpoint, api_key):
    """A one-way fingerprint of endpoint and key, so a key rotation changes the containers' spec hash."""
    return speech_plan_utils.billing_fingerprint(endpoint, api_key)


def speech_image_requests(plan):
    """The images a plan needs, each once, with its policy ([{ref, policy}]; speech_image_pulls picks what to pull)."""
    return speech_plan_utils.image_requests(plan)


def speech_secret_fingerprints(secret_env):
    """{container: fingerprint} of the secret environment values (use only in no_log tasks; the result holds no secret)."""
    return speech_plan_utils.secret_fingerprints(secret_env)


def speech_actions_summary(actions, host, check_mode=False):
    """The lines that say what happened to each container and why (no secrets)."""
    return speech_plan_utils.actions_summary(actions, host, check_mode=bool(check_mode))


def speech_rollback_note(rollback_run, host, readiness=None, failure="", previous=None):
    """The rollback in one line: what was put back (and to which image), and whether the host is ready again."""
    return speech_plan_utils.rollback_note(rollback_run, host, readiness, failure, previous)


def speech_refusal(problems, who="", host="", warnings=None, count=True, heading=None):
    """A role's refusal of a host (plugin_utils/check.py's one format): "<who> refused <host> (<n> problems):" (the
    count left out when not count), or the given heading, in which {count} becomes " (<n> problems)"; then one problem
    per line, then the warnings."""
    problems = list(problems or [])
    if heading is None:
        heading = "%s refused %s{count}:" % (who, host)
    heading = heading.replace("{count}", check.count_words(len(problems)) if count else "")
    return check.refusal(heading, problems, warnings)


def speech_billing_gate(readiness, changes, endpoint):
    """Why nothing may be replaced (billing unreachable from the running containers), or "" when it may."""
    return speech_plan_utils.billing_gate(readiness, changes, endpoint)


def speech_settings_problems(settings):
    """Problems with the speech_containers role's own settings."""
    return speech_plan_utils.check_settings(settings)


def speech_registry_host(registry):
    return speech_plan_utils.registry_host(registry)


def speech_state_paths(plan):
    """The host paths speech_info should stat for this plan (directories and licence markers)."""
    return speech_plan_utils.state_paths(plan)


def speech_changes(plan, info, remove_unlisted=None, license_refresh=False, list_given=True, adopt_dirs=False, billing_gate=True):
    """What to apply, remove, fetch and create on a host, from the plan and speech_info's answer."""
    return speech_plan_utils.plan_changes(plan, info, remove_unlisted=remove_unlisted, license_refresh=bool(license_refresh),
                                          list_given=bool(list_given), adopt_dirs=bool(adopt_dirs), billing_gate=bool(billing_gate))


def speech_readiness_targets(plan):
    """The readiness module's containers option for a plan's started containers."""
    return speech_plan_utils.readiness_targets(plan)


def speech_redact(text, *secrets):
    """Replace each secret in the text by <hidden> (for error messages of no_log tasks)."""
    return speech_plan_utils.redact(text, *secrets)


def speech_report(plan, info, readiness, client_host, changes=None):
    """One row per planned container: kind, image, digest, client URL, readiness (no secrets)."""
    return speech_plan_utils.report(plan, info, readiness, client_host, changes)


class FilterModule(object):
    def filters(self):
        return {
            "speech_plan": speech_plan,
            "speech_container_params": speech_container_params,
            "speech_step_failure": speech_step_failure,
            "speech_previous_steps": speech_previous_steps,
            "speech_billing_problems": speech_billing_problems,
            "speech_host_check": speech_host_check,
            "speech_billing_fingerprint": speech_billing_fingerprint,
            "speech_state_paths": speech_state_paths,
            "speech_settings_problems": speech_settings_problems,
            "speech_registry_host": speech_registry_host,
            "speech_changes": speech_changes,
            "speech_readiness_targets": speech_readiness_targets,
            "speech_redact": speech_redact,
            "speech_report": speech_report,
            "speech_secret_fingerprints": speech_secret_fingerprints,
            "speech_image_requests": speech_image_requests,
            "speech_placement_check": speech_placement_check,
            "speech_dir_paths": speech_dir_paths,
            "speech_url_host": speech_url_host,
            "speech_actions_summary": speech_actions_summary,
            "speech_billing_gate": speech_billing_gate,
            "speech_rollback_note": speech_rollback_note,
            "speech_refusal": speech_refusal,
        }
