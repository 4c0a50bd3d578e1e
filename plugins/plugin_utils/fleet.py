# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet summary: one row per host from what the roles left in hostvars (no secrets)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.onprem.speech.plugins.module_utils import text as textutil

STAGES = {None: "nothing", "checked": "preflight", "configured": "Docker and GStreamer", "images": "the image pulls",
          "rolled_out": "the rollout"}

OUTCOMES = {
    "ready": "every container ready",
    "refused": "refused by preflight; nothing changed",
    "rolled back": "new containers failed; rolled back to what it ran before",
    "failed": "failed",
    "not rolled out": "not rolled out (the rollout stopped before this host's batch)",
    "in rollout": ("in its rollout batch when this report was written (if the run has ended, it stopped there: the host was "
                   "lost or the run interrupted; what the host serves is unknown)"),
    "dropped": "dropped out of the run after %s (failed or unreachable since)",
    "not checked": "not reached (unreachable, or the run stopped first)",
    "nothing planned": "no speech container planned (Docker and GStreamer only)",
}


# The groups site.yml sorts a host into (group_by) once its engine and GStreamer are as planned (the configure
# play, or the comparison finding nothing to do), and once its images are present (the pull play, or the same).
CONFIGURED_GROUP = "speech_configured"
PULLED_GROUPS = ("speech_rollout_steady", "speech_rollout_changing")


def host_stage(hv):
    """How far a host got, from the roles' results and site.yml's groups: preflight passed (checked); the host is in
    speech_configured (configured: site.yml's configure play finished on it, or its comparison found nothing to
    configure; the roles' results are noted earlier, when they compare); the host is in speech_rollout_steady or
    speech_rollout_changing (images: no role result marks the end of the pulls); speech_containers noted its result
    (rolled_out)."""
    stage = None
    if (hv.get("preflight_result") or {}).get("passed"):
        groups = set(hv.get("group_names") or [])
        stage = "checked"
        if CONFIGURED_GROUP in groups:
            stage = "configured"
        if groups & set(PULLED_GROUPS):
            stage = "images"
        if hv.get("speech_containers_result") is not None:
            stage = "rolled_out"
    return stage


def host_row(host, hv, active=True, rolling=False):
    """One host's row from its hostvars (a mapping); active: the host is still in the run (not failed or unreachable);
    rolling: the host's rollout batch is about to start (the report written before each batch, which stays on disk
    when the run stops in that batch: a host lost there leaves no rescue to write another).

    It reads only the roles' published results (preflight_result, docker_result, gstreamer_result,
    speech_containers_result, diagnostics_result) and the groups site.yml sorts hosts into (host_stage): what
    a role does inside is its own business."""
    preflight = hv.get("preflight_result") or {}
    summary = preflight.get("summary") or {}
    machine = preflight.get("host") or {}
    speech = hv.get("speech_containers_result") or {}
    containers = speech.get("containers") or []
    # site.yml's rollout rescue notes why a host failed in its batch: also when the failure came before the role
    # noted a result of its own (a task before the change, or a host whose connection broke mid-task).
    rollout_failure = hv.get("speech_rollout_failure") or None
    stage = host_stage(hv)
    if not preflight:
        outcome = "not checked"
    elif not preflight.get("passed"):
        outcome = "refused"
    elif speech.get("rolled_back"):
        outcome = "rolled back"
    elif speech.get("failure") or rollout_failure:
        outcome = "failed"
    elif not containers and stage == "rolled_out":
        outcome = "nothing planned"
    elif not containers and stage == "images":
        outcome = "not rolled out"
    elif not containers:
        outcome = "dropped"
    elif all(c.get("ready") for c in containers if c.get("state") == "started"):
        outcome = "ready"
    else:
        outcome = "failed"
    if rolling and outcome == "not rolled out":
        outcome = "in rollout"
    if not active and outcome in ("ready", "not rolled out", "nothing planned", "in rollout"):
        # Lost after its last result was noted (unreachable, or a task failed outside the roles' own reports).
        outcome = "dropped"
    changes = []
    for role in ("docker", "gstreamer"):
        result = hv.get(role + "_result") or {}
        changes += ["%s: %s" % (role, reason) for reason in result.get("reasons") or []]
    changes += ["speech_containers: %s %s" % (c.get("name"), c.get("action")) for c in speech.get("changes") or []]
    return {
        "host": host,
        "outcome": outcome,
        "outcome_text": OUTCOMES[outcome] % STAGES.get(stage, "?") if outcome == "dropped" else OUTCOMES[outcome],
        "problems": list(preflight.get("problems") or []),
        "failure": speech.get("failure") or rollout_failure,
        "stage": stage,
        "rollback_note": (speech.get("rollback_note") or "").strip() or None,
        "changes": changes,
        "diagnostics": (hv.get("diagnostics_result") or {}).get("verdict"),
        "cpu_model": machine.get("cpu_model"),
        "avx2": machine.get("avx2"),
        "clock_mhz": machine.get("core_max_mhz"),
        "clock_source": machine.get("core_max_mhz_source"),
        "cpus_have": summary.get("have_cpus", machine.get("usable_cpus")),
        "cpus_need": summary.get("need_cpus"),
        "memory_have_mb": summary.get("have_memory_mb", machine.get("usable_memory_mb")),
        "memory_need_mb": summary.get("need_memory_mb"),
        "containers": containers,
        "journal": journal_lines(hv),
    }


def journal_lines(hv, count=5):
    """The host's last journal entries in words, oldest first: this run's (site.yml's lock release returns the journal)
    or, when this run changed nothing there, what preflight's look read."""
    released = hv.get("speech_lock_released") or {}
    entries = released.get("journal") if isinstance(released, dict) and released.get("journal") else None
    if entries is None:
        entries = (hv.get("preflight_result") or {}).get("journal") or []
    return [journal_words(entry) for entry in list(entries)[-count:] if isinstance(entry, dict)]


def journal_words(entry):
    """One journal entry as a line: when, who, what changed and why, the result."""
    who = "%s@%s (%s)" % (entry.get("user") or "?", entry.get("controller") or "?", entry.get("playbook") or "?")
    if entry.get("by") == "guard":
        who = "the host's guard"
    what = "; ".join(str(c) for c in entry.get("changes") or []) or ", ".join(
        "%s %s" % (a.get("name"), a.get("action")) for a in entry.get("actions") or [] if isinstance(a, dict)) or "nothing"
    line = "%s %s: %s; %s" % (entry.get("at") or "?", who, what, entry.get("result") or "?")
    if entry.get("why"):
        line += " (%s)" % entry["why"]
    if entry.get("failure"):
        line += ": %s" % entry["failure"]
    return line


def journal_entry(hv, failure="", secrets=()):
    """What a run that changed a host writes in its journal: what changed and why, the result, no secret."""
    row = host_row(hv.get("inventory_hostname") or "", hv)
    changes = []
    for role in ("docker", "gstreamer"):
        changes += ["%s: %s" % (role, reason) for reason in (hv.get(role + "_result") or {}).get("reasons") or []]
    for change in (hv.get("speech_containers_result") or {}).get("changes") or []:
        changes.append("%s: %s%s" % (change.get("name"), change.get("action"), " (%s)" % change["reason"] if change.get("reason") else ""))
    text = textutil.redact(row["failure"] or failure or "", secrets)
    entry = {"changes": changes, "result": row["outcome_text"] if not failure or row["failure"] else "failed"}
    if text:
        entry["failure"] = text[:2000]
    if row["rollback_note"]:
        entry["rollback"] = row["rollback_note"]
    return entry


def gateway_rows(gateways, hostvars):
    """One row per gateway route: the gateway, the service, its URL, and each backend with its state there."""
    rows = []
    for gateway in gateways or []:
        hv = hostvars[gateway] if gateway in hostvars else {}
        result = hv.get("gateway_result") or {}
        states = dict(((s.get("backend"), s.get("server")), s) for s in hv.get("gateway_servers") or [])
        for route in result.get("routes") or []:
            backends = []
            for server in route.get("servers") or []:
                state = states.get((route.get("backend"), server.get("name"))) or {}
                backends.append({"host": server.get("host"), "address": "%s:%s" % (server.get("address"), server.get("port")),
                                 "status": state.get("status") or "unknown", "sessions": state.get("sessions")})
            rows.append({"gateway": gateway, "key": route.get("key"), "title": route.get("title"), "url": route.get("url"),
                         "backends": backends})
    return rows


def gateway_table(rows):
    """The gateway routes as text lines: gateway, service, URL, backends and their states."""
    if not rows:
        return []
    lines = ["%-18s %-28s %-34s %s" % ("GATEWAY", "SERVICE", "URL", "BACKENDS")]
    for row in rows:
        lines.append("%-18s %-28s %-34s %s" % (row["gateway"], row["key"], row["url"],
                                               ", ".join("%s %s" % (b["host"], b["status"]) for b in row["backends"])))
    return lines


def fleet_rows(hosts, hostvars, active=None, rolling=()):
    """One row per host; active: the hosts still in the run (None: all of them); rolling: the hosts of the rollout
    batch about to start."""
    return [host_row(host, hostvars[host] if host in hostvars else {}, active is None or host in active, host in rolling)
            for host in hosts]


def percent(need, have):
    """How full a host is, 0-100 for the report's bars (more than 100 shows an over-plan)."""
    if not have or need is None:
        return 0
    return int(round(100.0 * float(need) / float(have)))


def fleet_table(rows):
    """The summary as text lines: host, container, kind, client URL, ready, key status."""
    lines = ["%-18s %-16s %-10s %-32s %-6s %s" % ("HOST", "CONTAINER", "KIND", "URL", "READY", "KEY")]
    for row in rows:
        if not row["containers"]:
            lines.append("%-18s %s" % (row["host"], row["outcome_text"]))
            continue
        for c in row["containers"]:
            ready = "-" if c.get("ready") is None else ("yes" if c["ready"] else "NO")
            lines.append("%-18s %-16s %-10s %-32s %-6s %s" % (row["host"], c["name"], c["kind"], c["url"], ready, c.get("api_status") or "-"))
        if row["outcome"] != "ready":
            lines.append("%-18s (%s)" % ("", row["outcome_text"]))
    return lines


def serial_or_default(value):
    """A serial Ansible takes (a number of 1 or more, a percentage 1%-100%, or a list of them); anything else is 1."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        text = str(item).strip()
        number = text[:-1] if text.endswith("%") else text
        if isinstance(item, bool) or not number.isdigit() or int(number) < 1 or (text.endswith("%") and int(number) > 100):
            return 1
    return value if isinstance(value, list) else (str(value).strip() if str(value).strip().endswith("%") else int(str(value).strip()))


def host_pattern(value, name="speech_hosts"):
    """A play's host pattern from speech_hosts or speech_gateways (text: a group, a host, or Ansible's a:b:&c:!d),
    stripped; anything else raises ValueError naming the variable (preflight refuses it too, as a string option)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise ValueError("%s: give a host pattern (a group, a host, or Ansible's a:b:&c:!d), not %r" % (name, value))
    return str(value).strip()


def rollout_lost(play_hosts_all, play_hosts, batch, max_fail_percentage):
    """Before a rollout batch: the hosts of the earlier batches that left the play (failed, or lost: unreachable), and
    whether they are more than max_fail_percentage of those batches' hosts (stop: the rollout must not go on).

    Ansible counts only failed hosts against a play's max_fail_percentage, batch by batch; a host lost in a batch where
    another host went through does not stop the rollout. Batches are slices of the play's hosts in order
    (ansible_play_hosts_all), so the earlier batches are the hosts before this batch's first. Over those hosts, failed ones
    can only reach the share Ansible's own check allowed, so only lost hosts can make this stop."""
    order = list(play_hosts_all or [])
    positions = [order.index(host) for host in batch or [] if host in order]
    done = order[:min(positions)] if positions else []
    still = set(play_hosts or [])
    left = [host for host in done if host not in still]
    share = 100.0 * len(left) / len(done) if done else 0.0
    return {"stop": bool(left) and share > float(percentage_or_default(max_fail_percentage)), "left": left, "done": len(done),
            "share": round(share, 1)}


def percentage_or_default(value):
    """A max_fail_percentage Ansible takes (0-100); anything else is 0."""
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        return 0
    return number if 0 <= number <= 100 and not isinstance(value, bool) else 0
