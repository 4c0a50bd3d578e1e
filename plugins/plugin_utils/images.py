# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The images' words on the controller: which images a host pulls, which pull errors are worth another try, and
what community.docker's image modules said, in the operator's words.

The roles pull with community.docker.docker_image_pull, log in with docker_login and load an archive with
docker_image_load (roles/speech_containers/tasks/images_apply.yml, roles/diagnostics/tasks/run.yml). What those
modules do not do is here:

- a permanent error (no such tag, a refused login, an untrusted certificate) is not tried again; a transient one (a
  timeout, a reset, 5xx, 429) is (the task's `until` reads `permanent()`);
- a failure names the image (or the registry and user of a refused login) and says what Docker's words mean;
- the run's lines: "<ref>: pulled <id>", "<ref>: would pull", "<ref>: loaded".

Standard library only; unit-tested in tests/unit/plugins/plugin_utils/test_images.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

PERMANENT_WORDS = ("manifest unknown", "not found", "unauthorized", "authentication required", "no basic auth credentials", "denied",
                   "invalid reference", "x509", "certificate", "no such host", "name unknown", "does not exist")
TRANSIENT_WORDS = ("timeout", "timed out", "connection reset", "broken pipe", "eof", "toomanyrequests",
                   "temporarily", "connection refused", "no answer", "connection aborted")
AUTH_WORDS = ("unauthorized", "authentication required", "no basic auth credentials")
# HTTP statuses as words of their own: a port (mirror:4010) or a digest that holds the digits is not a status.
PERMANENT_CODES = re.compile(r"(?<![\w.:/-])(401|403)(?![\w.:/-])")
TRANSIENT_CODES = re.compile(r"(?<![\w.:/-])(429|502|503|504)(?![\w.:/-])")
AUTH_CODES = re.compile(r"(?<![\w.:/-])401(?![\w.:/-])")


def permanent(message):
    """Whether a pull error is worth no retry: a missing tag, a refused login, an untrusted certificate. An error
    that is neither known permanent nor known transient is taken as permanent (a retry would only delay its words)."""
    text = (message or "").lower()
    if any(word in text for word in PERMANENT_WORDS) or PERMANENT_CODES.search(text):
        return True
    return not (any(word in text for word in TRANSIENT_WORDS) or TRANSIENT_CODES.search(text))


def explain(message):
    """Docker's words, with what they mean for the operator where it is clear."""
    message = (message or "").strip()
    text = message.lower()
    if any(word in text for word in AUTH_WORDS) or AUTH_CODES.search(text):
        return "the registry answered 401 (unauthorized): %s" % message
    if "manifest unknown" in text or ("manifest for" in text and "not found" in text) or "name unknown" in text:
        return "the registry has no such image or tag (manifest unknown): %s" % message
    if "x509" in text or "certificate" in text:
        return "the registry's certificate is not trusted (give its CA): %s" % message
    return message


def pulls(requests, missing, source="pull"):
    """The images a host pulls now: each missing one, and every one that follows its tag (policy always); none when
    the source is not a registry (load, present). requests: [{ref, policy}] (plan.image_requests); returns
    [{ref, pull}] where pull is docker_image_pull's `pull` (always or not_present)."""
    if source != "pull":
        return []
    missing = set(missing or [])
    wanted = []
    for item in requests or []:
        follows = item.get("policy") == "always"
        if follows or item["ref"] in missing:
            wanted.append({"ref": item["ref"], "pull": "always" if follows else "not_present"})
    return wanted


def _attempts(item):
    return int(item.get("attempts") or 1)


def failure(result, action, registry="", username="", archive="", image=""):
    """One line for a failed image task: what (the image, or the registry and user), the step, and Docker's words
    explained. result: the failed task's result (a loop's, or one module's); action: the task's module; image: the
    reference of a pull that ran without a loop."""
    action = (action or "").rsplit(".", 1)[-1]
    if action in ("fail", "assert"):
        return result.get("msg") or "failed"
    if action == "docker_login":
        return "%s: logging in as %s: %s" % (registry, username, explain(result.get("msg")))
    if action == "docker_image_load":
        return "%s: loading: %s" % (archive, explain(result.get("msg")))
    items = [item for item in (result.get("results") or [result]) if item.get("failed")]
    lines = []
    for item in items:
        ref = (item.get("item") or {}).get("ref") or image or "the image"
        attempts = _attempts(item)
        lines.append("%s: pulling: %s%s" % (ref, explain(item.get("msg")), " (after %d attempts)" % attempts if attempts > 1 else ""))
    return "; ".join(lines) or explain(result.get("msg")) or "failed"


def changes(pulled=None, loads=None, check_mode=False):
    """The run's lines for the images: one per image pulled, updated or loaded (or, in check mode, that would be).
    pulled: docker_image_pull's loop result; loads: the refs the archive brought (docker_image_load ran for them)."""
    lines = []
    for item in (pulled or {}).get("results") or []:
        if not item.get("changed"):
            continue
        ref = (item.get("item") or {}).get("ref")
        if check_mode:
            lines.append("%s: would pull" % ref)
            continue
        before = ((item.get("diff") or {}).get("before") or {}).get("id")
        after = (item.get("image") or {}).get("Id") or ""
        lines.append("%s: %s %s" % (ref, "updated" if before else "pulled", after[:19]))
    for ref in sorted(loads or []):
        lines.append("%s: %s" % (ref, "would load" if check_mode else "loaded"))
    return lines


def not_loaded(loaded, missing):
    """The refs an archive was to hold but did not (docker_image_load's image_names)."""
    names = set((loaded or {}).get("image_names") or [])
    return [ref for ref in sorted(missing or []) if ref not in names]
