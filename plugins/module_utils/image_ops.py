# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images through the Docker Engine API (the speech_image module).

- The registry password travels in each request's X-Registry-Auth header; nothing
  is stored on the host, so a wrong password is a 401 whatever an earlier
  `docker login` left behind.
- The engine answers a pull 200 at once and reports a failure inside its stream:
  every object of the stream is read and an error in it fails the pull.
- A permanent error (no such tag, 401/403, a certificate the engine does not
  trust) is not retried; a transient one (a timeout, a reset, 5xx, 429) is.
- Policies: `missing` pulls an image that is not on the host; `always` asks the
  registry for the tag's digest (GET /distribution/<ref>/json) and pulls when it
  moved; a reference pinned by digest (repo@sha256:...) is pulled by that digest.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import time
from urllib.parse import quote, urlencode

from ansible_collections.onprem.speech.plugins.module_utils.container_state import digest_for, inspect_image, repository_of
from ansible_collections.onprem.speech.plugins.module_utils.docker_socket import DockerSocketError, error_message

PERMANENT_WORDS = ("manifest unknown", "not found", "unauthorized", "authentication required", "no basic auth credentials", "denied",
                   "401", "403", "invalid reference", "x509", "certificate", "no such host", "name unknown", "does not exist")
TRANSIENT_WORDS = ("timeout", "timed out", "connection reset", "broken pipe", "eof", "502", "503", "504", "429", "toomanyrequests",
                   "temporarily", "connection refused", "no answer")
AUTH_WORDS = ("unauthorized", "authentication required", "no basic auth credentials", "401")


class ImageError(Exception):
    """An image that could not be made present; str() names the image and quotes the cause."""

    def __init__(self, ref, what, detail, permanent=True):
        self.ref = ref
        self.detail = detail
        self.permanent = permanent
        Exception.__init__(self, "%s: %s: %s" % (ref, what, detail))


def redact(text, secrets):
    text = "" if text is None else str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "<hidden>")
    return text


def is_permanent(message):
    """Whether a pull error is worth no retry: a missing tag, a refused login, an untrusted certificate."""
    text = (message or "").lower()
    if any(word in text for word in PERMANENT_WORDS):
        return True
    return not any(word in text for word in TRANSIENT_WORDS)


def explain(message):
    """The engine's words, with what they mean for the operator where it is clear."""
    text = (message or "").lower()
    if any(word in text for word in AUTH_WORDS):
        return "the registry answered 401 (unauthorized): %s" % message
    if "manifest unknown" in text or ("manifest for" in text and "not found" in text) or "name unknown" in text:
        return "the registry has no such image or tag (manifest unknown): %s" % message
    if "x509" in text or "certificate" in text:
        return "the registry's certificate is not trusted (give its CA): %s" % message
    return message


def auth_header(username, password, server):
    """The X-Registry-Auth value for a login (base64url of the JSON the engine expects)."""
    data = json.dumps({"username": username, "password": password, "serveraddress": server}).encode("utf-8")
    return base64.urlsafe_b64encode(data).decode("ascii")


def split_reference(ref):
    """(repository, tag or digest) of an image reference: repo:tag, repo@sha256:..., or repo (latest)."""
    if "@" in ref:
        repository, digest = ref.split("@", 1)
        return repository_of(repository), digest
    repository = repository_of(ref)
    tag = ref[len(repository) + 1:] if len(ref) > len(repository) else "latest"
    return repository, tag


def stream_error(objects):
    """The error reported inside an engine stream, or None."""
    for item in objects:
        if item.get("error") or item.get("errorDetail"):
            detail = item.get("errorDetail") or {}
            return str(item.get("error") or detail.get("message") or "unknown error").strip()
    return None


class Registry(object):
    """One registry's credentials for the engine's requests."""

    def __init__(self, server="", username="", password=""):
        self.server = server
        self.username = username
        self.password = password

    def headers(self):
        if not self.username:
            return {}
        return {"X-Registry-Auth": auth_header(self.username, self.password, self.server)}

    def secrets(self):
        return [self.password] if self.password else []


def login(client, registry):
    """Check the credentials with the registry (POST /auth); ImageError naming a 401."""
    if not registry.username:
        return None
    body = {"username": registry.username, "password": registry.password, "serveraddress": registry.server}
    try:
        status, data = client.post("/auth", body, timeout=60)
    except DockerSocketError as error:
        raise ImageError(registry.server, "logging in as %s" % registry.username, str(error), permanent=False)
    if status != 200:
        message = redact(error_message(status, data), registry.secrets())
        raise ImageError(registry.server, "logging in as %s" % registry.username, explain(message))
    return (data or {}).get("Status")


def remote_digest(client, ref, registry):
    """The digest the registry publishes for the reference now (without pulling)."""
    path = "/distribution/%s/json" % quote(ref, safe="/:@")
    try:
        status, raw = client.request("GET", path, headers=registry.headers(), timeout=60)
    except DockerSocketError as error:
        raise ImageError(ref, "asking the registry for its digest", str(error), permanent=False)
    try:
        data = json.loads(raw.decode("utf-8")) if raw else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if status != 200:
        message = redact(error_message(status, data), registry.secrets())
        raise ImageError(ref, "asking the registry for its digest", explain(message), permanent=is_permanent(message))
    return ((data or {}).get("Descriptor") or {}).get("digest")


def pull_once(client, ref, registry, timeout=1800):
    """Pull one reference; ImageError (permanent or not) when the engine or the registry refuses."""
    repository, tag = split_reference(ref)
    path = "/images/create?" + urlencode({"fromImage": repository, "tag": tag})
    try:
        status, objects = client.post_stream(path, headers=registry.headers(), timeout=timeout)
    except DockerSocketError as error:
        raise ImageError(ref, "pulling", str(error), permanent=False)
    message = None
    if status != 200:
        message = error_message(status, objects[0] if objects else None)
    else:
        message = stream_error(objects)
    if message:
        message = redact(message, registry.secrets())
        raise ImageError(ref, "pulling", explain(message), permanent=is_permanent(message))


def pull(client, ref, registry, retries=5, delay=10, sleep=time.sleep):
    """Pull with retries for transient errors only; returns how many attempts it took."""
    attempt = 0
    while True:
        attempt += 1
        try:
            pull_once(client, ref, registry)
            return attempt
        except ImageError as error:
            if error.permanent or attempt > retries:
                if attempt > 1:
                    error.args = ("%s (after %d attempts)" % (error.args[0], attempt),)
                raise
        sleep(delay)


def load(client, archive):
    """Load a `docker save` archive (POST /images/load); returns the engine's words."""
    size = os.path.getsize(archive)
    with open(archive, "rb") as handle:
        try:
            status, objects = client.post_stream("/images/load?quiet=1", raw_body=handle, timeout=1800,
                                                 headers={"Content-Type": "application/x-tar", "Content-Length": str(size)})
        except DockerSocketError as error:
            raise ImageError(archive, "loading", str(error))
    message = error_message(status, objects[0] if objects else None) if status != 200 else stream_error(objects)
    if message:
        raise ImageError(archive, "loading", message)
    return [item.get("stream", "").strip() for item in objects if item.get("stream")]


def local(client, ref):
    """(present, id, digest) of a reference on the host."""
    try:
        data = inspect_image(client, ref)
    except DockerSocketError as error:
        raise ImageError(ref, "inspecting", str(error), permanent=False)
    if not data:
        return False, None, None
    return True, data.get("Id"), digest_for(ref, data.get("RepoDigests"))


def ensure(client, images, registry, source="pull", archive=None, retries=5, delay=10, check_mode=False, sleep=time.sleep):
    """Make every image present as its policy says. images: [{ref, policy (missing|always|pinned)}].

    Returns {ref: {present, id, digest, remote_digest, action}}; raises ImageError at the first image that cannot be had."""
    results, todo = {}, []
    for item in images:
        ref, policy = item["ref"], item.get("policy") or "missing"
        present, image_id, digest = local(client, ref)
        entry = {"present": present, "id": image_id, "digest": digest, "remote_digest": None, "action": "present", "policy": policy}
        results[ref] = entry
        if policy == "always" and source == "pull":
            todo.append((ref, entry))
        elif not present:
            todo.append((ref, entry))
    if not todo:
        return results
    if source == "present":
        missing = [ref for ref, entry in todo if not entry["present"]]
        if missing:
            raise ImageError(", ".join(missing), "not on the host", "speech_containers_image_source is present, so nothing is pulled or loaded")
        return results
    if source == "load":
        if not check_mode:
            load(client, archive)
        for ref, entry in todo:
            if check_mode:
                entry["action"] = "would load"
                continue
            entry["present"], entry["id"], entry["digest"] = local(client, ref)
            if not entry["present"]:
                raise ImageError(ref, "loading", "the archive %s does not hold this image" % os.path.basename(archive or ""))
            entry["action"] = "loaded"
        return results
    logged_in = False
    for ref, entry in todo:
        if entry["policy"] == "always":
            entry["remote_digest"] = remote_digest(client, ref, registry)
            if entry["present"] and entry["remote_digest"] == entry["digest"]:
                continue
        if check_mode:
            entry["action"] = "would pull"
            continue
        if not logged_in:
            login(client, registry)
            logged_in = True
        attempts = pull(client, ref, registry, retries, delay, sleep)
        was = entry["digest"]
        entry["present"], entry["id"], entry["digest"] = local(client, ref)
        if not entry["present"]:
            raise ImageError(ref, "pulling", "the engine said it pulled the image, but it has no such image")
        entry["action"] = "updated" if was and was != entry["digest"] else "pulled"
        if attempts > 1:
            entry["attempts"] = attempts
    return results
