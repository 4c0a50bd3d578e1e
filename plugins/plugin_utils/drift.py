# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What differs between the one look at a host (host_facts) and what a role wants (controller side only).

docker_drift()     the docker role: packages, conflicts, repository, daemon.json, registry CAs, the service, group members
gstreamer_drift()  the gstreamer role: packages, and the elements each asked-for format needs
look_covers()      whether a look was asked for everything a role compares

Each returns the concerns that differ, with a reason in plain words; a role runs the module of a
concern only where it differs, so a host with nothing to change costs no call beyond the look.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import hashlib

from ansible_collections.onprem.speech.plugins.module_utils.host_look import QUERY_LISTS


def look_covers(look, query):
    """Whether the look (host_facts' speech_host) was asked for every item of query; a missing look covers nothing."""
    if not isinstance(look, dict) or not isinstance(look.get("query"), dict):
        return False
    asked = look["query"]
    for key in QUERY_LISTS:
        if set(query.get(key) or []) - set(asked.get(key) or []):
            return False
    if query.get("gstreamer_elements") and not asked.get("gstreamer_elements"):
        return False
    if query.get("speech_state"):
        if not asked.get("speech_state") or look.get("speech") is None:
            return False
        if set(query.get("images") or []) - set(asked.get("images") or []):
            return False
        if set(query.get("paths") or []) - set(asked.get("paths") or []):
            return False
    return True


def _strip_epoch(version):
    return version.split(":", 1)[1] if ":" in version else version


def version_matches(installed, pin):
    """Whether an installed version satisfies a pin as apt (name=pin, globs allowed) or dnf (name-pin) reads it."""
    if not pin:
        return True
    if installed is None:
        return False
    candidates = [installed] if ":" in pin else [installed, _strip_epoch(installed)]
    for version in candidates:
        if version == pin or fnmatch.fnmatchcase(version, pin) or version.startswith(pin + "-"):
            return True
    return False


def sha256(text):
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def _file_differs(entry, content, mode="0644", uid=0, gid=0):
    """Why a file the role writes differs from the look's entry, or None."""
    if not entry or not entry.get("exists"):
        return "missing"
    if entry.get("isdir"):
        return "a directory where a file belongs"
    if entry.get("sha256") != sha256(content):
        return "content differs"
    if entry.get("mode") != mode:
        return "mode %s, not %s" % (entry.get("mode"), mode)
    if (entry.get("uid"), entry.get("gid")) != (uid, gid):
        return "owner %s:%s, not %s:%s" % (entry.get("uid"), entry.get("gid"), uid, gid)
    return None


def _repository_differs(entry, want):
    """deb822 (URIs, Suites, Components, Architectures) or .repo (baseurl) lines the role writes, against the file."""
    if not entry or not entry.get("exists"):
        return "missing"
    text = entry.get("content")
    if text is None:
        return "unreadable"
    lines = set(" ".join(line.split()) for line in text.splitlines())
    missing = [line for line in want.get("lines") or [] if " ".join(line.split()) not in lines]
    return ("no line %s" % "; ".join(missing)) if missing else None


def docker_drift(look, want):
    """{concern: reason} of what differs, plus "changes" (the concerns, sorted) and "reasons" (sentences).

    want: packages [{name, pin}] (the engine's), extras [names] (not the engine's: no restart), conflicts [names],
    prerequisites [names], repository {path, lines} or None,
    daemon_json {path, content}, cas [{registry, path, content}], service name, users [names]."""
    look = look or {}
    packages = look.get("packages") or {}
    files = look.get("files") or {}
    drift = {}
    wrong = []
    for item in want.get("packages") or []:
        installed = packages.get(item["name"])
        if installed is None:
            wrong.append("%s not installed" % item["name"])
        elif not version_matches(installed, item.get("pin")):
            wrong.append("%s %s, not %s" % (item["name"], installed, item["pin"]))
    if wrong:
        drift["packages"] = ", ".join(wrong)
    missing = [name for name in want.get("extras") or [] if name not in packages]
    if missing:
        drift["extras"] = "%s not installed" % ", ".join(missing)
    found = [name for name in want.get("conflicts") or [] if name in packages]
    if found:
        drift["conflicts"] = "%s installed (conflicts with the chosen source)" % ", ".join(sorted(found))
    missing = [name for name in want.get("prerequisites") or [] if name not in packages]
    if missing:
        drift["prerequisites"] = "%s not installed" % ", ".join(missing)
    repo = want.get("repository")
    if repo:
        reason = _repository_differs(files.get(repo["path"]), repo)
        if reason:
            drift["repository"] = "%s: %s" % (repo["path"], reason)
    daemon = want.get("daemon_json")
    if daemon:
        reason = _file_differs(files.get(daemon["path"]), daemon["content"])
        if reason:
            drift["daemon_json"] = "%s: %s" % (daemon["path"], reason)
    cas = []
    for ca in want.get("cas") or []:
        reason = _file_differs(files.get(ca["path"]), ca["content"])
        if reason:
            cas.append({"registry": ca["registry"], "reason": reason})
    if cas:
        drift["cas"] = cas
    reason = _service_differs(look, want.get("service"))
    if reason:
        drift["service"] = reason
    members = (look.get("groups") or {}).get("docker") or []
    users = [user for user in want.get("users") or [] if user not in members]
    if users:
        drift["users"] = users
    return _finish(drift)


def _service_differs(look, service):
    """Why a service is not as wanted (there, active and enabled), or None; None as well when no service is wanted."""
    if not service:
        return None
    state = (look.get("services") or {}).get(service) or {}
    if state.get("exists") and state.get("active") and state.get("enabled"):
        return None
    return "%s is %s and %s" % (service, state.get("active_state") or "not there", state.get("unit_file_state") or "not enabled")


def gateway_drift(look, want):
    """{packages, files [{path, reason}], service} of a gateway host against want {packages, files [{path, content, mode}], service}."""
    look = look or {}
    drift = {}
    missing = [name for name in want.get("packages") or [] if name not in (look.get("packages") or {})]
    if missing:
        drift["packages"] = "%s not installed" % ", ".join(missing)
    files = []
    for item in want.get("files") or []:
        reason = _file_differs((look.get("files") or {}).get(item["path"]), item["content"], item.get("mode", "0644"))
        if reason:
            files.append({"path": item["path"], "reason": reason})
    if files:
        drift["files"] = files
    reason = _service_differs(look, want.get("service"))
    if reason:
        drift["service"] = reason
    return _finish(drift)


def gstreamer_drift(look, want):
    """{packages: reason, elements: [missing needs]} against want {packages [names], pipeline [...], decoders {format: ...}, formats}."""
    look = look or {}
    packages = look.get("packages") or {}
    drift = {}
    missing = [name for name in want.get("packages") or [] if name not in packages]
    if missing:
        drift["packages"] = "%s not installed" % ", ".join(missing)
    elements = look.get("gstreamer_elements")
    report = gstreamer_missing(elements or [], want)
    if report:
        drift["elements"] = report
    return _finish(drift)


def gstreamer_missing(elements, want):
    """Sentences naming each format's parser, demuxer or decoder that no listed element provides."""
    # Read once: a host lists hundreds of elements, and under Ansible each read of the look's list goes through its
    # lazy templating, item by item (once per need, that was most of the role's no-op on the controller).
    present = set(elements)
    report = []
    for need in want.get("pipeline") or []:
        if not set(need["any"]) & present:
            report.append("every format: no %s (%s) - install %s" % (need["needs"], " or ".join(need["any"]), need["package"]))
    decoders = want.get("decoders") or {}
    for fmt in want.get("formats") or []:
        for need in decoders.get(fmt, {}).get("needs", []):
            if not set(need["any"]) & present:
                report.append("%s: no %s (%s) - install %s" % (decoders[fmt]["label"], need["needs"], " or ".join(need["any"]), need["package"]))
    return report


def _finish(drift):
    reasons = []
    for key in sorted(drift):
        value = drift[key]
        if isinstance(value, list):
            words = ", ".join((v.get("registry") or v.get("path")) + ": " + v["reason"] if isinstance(v, dict) else str(v) for v in value)
            reasons.append("%s: %s" % (key, words))
        else:
            reasons.append("%s: %s" % (key, value))
    result = dict(drift)
    result["changes"] = sorted(drift)
    result["reasons"] = reasons
    return result
