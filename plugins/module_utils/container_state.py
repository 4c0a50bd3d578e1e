# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's speech containers, images and directories, in one pass (the speech_info module).

Pure helpers (no I/O) turn the Docker engine's answers into the module's shapes:
container_summary(), published_ports(), image_summary(), digest_for(),
parse_user(), resolve_ids(), passwd/group parsing and tar_member().
gather() does the talking, through docker_socket.DockerClient, and never raises
for an engine that does not answer: the caller decides what that means.

To learn the uid and gid of an image whose Config.User is a name, the image's
/etc/passwd (and /etc/group) is read without running it: a throwaway container
is created (never started), the file is copied out through the archive
endpoint, and the container is removed with its anonymous volumes, whatever
happened in between.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import posixpath
import stat as stat_module
import tarfile
import uuid
from urllib.parse import quote

from ansible_collections.onprem.speech.plugins.module_utils import host_state
from ansible_collections.onprem.speech.plugins.module_utils.docker_socket import DockerSocketError
from ansible_collections.onprem.speech.plugins.module_utils.labels import LABEL_HASH, LABEL_KIND, LABEL_MANAGED, LABEL_SPEC

THROWAWAY_PREFIX = "onprem-speech-info-"
THROWAWAY_LABEL = "onprem.speech.throwaway"
# A command that does not exist in any image: the container is never started,
# but an image without Cmd or Entrypoint cannot be created without one.
THROWAWAY_CMD = ["/onprem-speech-info-never-started"]
MAX_SYMLINKS = 4


# ------------------------------------------------------------------ containers

def list_filter(label):
    """The `filters` query value that selects containers carrying label=true."""
    return quote(json.dumps({"label": ["%s=true" % label]}, separators=(",", ":")), safe="")


def _port_number(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def published_ports(inspect):
    """[{host_ip, host_port, container_port, protocol}] of a container inspect.

    The engine's live bindings (NetworkSettings.Ports) for a running container;
    for a stopped one, the bindings it was created with (HostConfig.PortBindings)."""
    inspect = inspect or {}
    bindings = (inspect.get("NetworkSettings") or {}).get("Ports") or {}
    if not any(bindings.values()):
        bindings = (inspect.get("HostConfig") or {}).get("PortBindings") or {}
    ports = []
    for key in sorted(bindings):
        container_port, dummy, protocol = key.partition("/")
        for binding in bindings[key] or []:
            ports.append({
                "host_ip": binding.get("HostIp") or "",
                "host_port": _port_number(binding.get("HostPort")),
                "container_port": _port_number(container_port),
                "protocol": protocol or "tcp",
            })
    return ports


def parse_spec_label(labels):
    """The JSON of the onprem.speech.spec label, or None when absent or unreadable."""
    try:
        spec = json.loads((labels or {}).get(LABEL_SPEC) or "")
    except ValueError:
        return None
    return spec if isinstance(spec, dict) else None


def container_summary(listed, inspect):
    """One container of the module's `containers` list, from its /containers/json entry and its inspect.

    inspect may be None (the container went away between the two calls): the listing is used alone."""
    listed = listed or {}
    inspect = inspect or {}
    config = inspect.get("Config") or {}
    state = inspect.get("State") or {}
    labels = config.get("Labels") if inspect else listed.get("Labels")
    labels = labels or {}
    names = listed.get("Names") or []
    name = inspect.get("Name") or (names[0] if names else "")
    state_text = state.get("Status") or listed.get("State") or None
    return {
        "name": name.lstrip("/"),
        "id": inspect.get("Id") or listed.get("Id"),
        "image": config.get("Image") or listed.get("Image"),
        "image_id": inspect.get("Image") or listed.get("ImageID"),
        "state": state_text,
        "running": bool(state.get("Running")) if state else state_text == "running",
        "status": listed.get("Status"),
        "restart_count": inspect.get("RestartCount", 0) if inspect else None,
        "exit_code": state.get("ExitCode") if state else None,
        "oom_killed": bool(state.get("OOMKilled")) if state else None,
        "started_at": state.get("StartedAt") if state else None,
        "labels": labels,
        "kind": labels.get(LABEL_KIND),
        "spec_hash": labels.get(LABEL_HASH),
        "spec": parse_spec_label(labels),
        # The limits `docker update` can change in place, as the engine has them (None without an inspect).
        "limits": {"nano_cpus": (inspect.get("HostConfig") or {}).get("NanoCpus"), "memory": (inspect.get("HostConfig") or {}).get("Memory")}
        if inspect else None,
        "published_ports": published_ports(inspect) if inspect else [
            {"host_ip": p.get("IP") or "", "host_port": p.get("PublicPort"), "container_port": p.get("PrivatePort"), "protocol": p.get("Type") or "tcp"}
            for p in listed.get("Ports") or [] if p.get("PublicPort")],
    }


# ------------------------------------------------------------------ images

def _normal_repository(name):
    """A repository name in full form: debian -> docker.io/library/debian, foo/bar -> docker.io/foo/bar."""
    name = name.lower()
    if name.startswith("index.docker.io/"):
        name = "docker.io/" + name[len("index.docker.io/"):]
    first, slash, rest = name.partition("/")
    if not slash:
        return "docker.io/library/" + name
    if "." not in first and ":" not in first and first != "localhost":
        return "docker.io/" + name
    if first == "docker.io" and "/" not in rest:
        return "docker.io/library/" + rest
    return name


def repository_of(reference):
    """The repository of an image reference: no tag, no digest."""
    name = (reference or "").split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    return name


def digest_for(reference, repo_digests):
    """The "sha256:..." of repo_digests whose repository is the reference's, or None."""
    wanted = _normal_repository(repository_of(reference))
    for entry in repo_digests or []:
        repository, at, digest = entry.partition("@")
        if at and _normal_repository(repository) == wanted:
            return digest
    return None


def parse_user(user):
    """Config.User split into (user part, group part or None)."""
    user = (user or "").strip()
    name, colon, group = user.partition(":")
    return name, (group if colon else None)


def parse_passwd(text):
    """[(name, uid, gid)] of an /etc/passwd text; malformed lines are skipped."""
    entries = []
    for line in (text or "").splitlines():
        fields = line.split(":")
        if len(fields) < 4 or line.startswith("#"):
            continue
        try:
            entries.append((fields[0], int(fields[2]), int(fields[3])))
        except ValueError:
            continue
    return entries


def parse_group(text):
    """[(name, gid)] of an /etc/group text; malformed lines are skipped."""
    entries = []
    for line in (text or "").splitlines():
        fields = line.split(":")
        if len(fields) < 3 or line.startswith("#"):
            continue
        try:
            entries.append((fields[0], int(fields[2])))
        except ValueError:
            continue
    return entries


def needs_files(user):
    """Which of /etc/passwd and /etc/group resolve_ids() needs for this Config.User."""
    name, group = parse_user(user)
    needed = []
    if name and not (name.isdigit() and group is not None):
        # A name, or a bare uid whose primary group the passwd file holds.
        needed.append("/etc/passwd")
    if group and not group.isdigit():
        needed.append("/etc/group")
    return needed


def resolve_ids(user, passwd_text=None, group_text=None):
    """(uid, gid, error) for a Config.User, Docker's way.

    "" is root (0, 0). A numeric uid is used as it is, with the group of its
    passwd entry, or gid 0 when it has none (or there is no passwd file:
    passwd_text None). A user or group name must be in the image's files."""
    name, group = parse_user(user)
    uid = gid = None
    if not name:
        uid, gid = 0, 0
    else:
        entries = parse_passwd(passwd_text)
        match = [e for e in entries if e[0] == name or (name.isdigit() and e[1] == int(name))]
        if match:
            uid, gid = match[0][1], match[0][2]
        elif name.isdigit():
            uid, gid = int(name), 0
        elif passwd_text is None:
            return None, None, "user %r: the image has no /etc/passwd to look the name up in" % name
        else:
            return None, None, "user %r is not in the image's /etc/passwd" % name
    if group is None or group == "":
        return uid, gid, None
    if group.isdigit():
        return uid, int(group), None
    groups = [g for g in parse_group(group_text) if g[0] == group]
    if groups:
        return uid, groups[0][1], None
    if group_text is None:
        return None, None, "group %r: the image has no /etc/group to look the name up in" % group
    return None, None, "group %r is not in the image's /etc/group" % group


def image_summary(inspect):
    """The module's entry for one image from its inspect (None: the image is not on the host)."""
    if not inspect:
        return {"present": False, "id": None, "repo_digests": [], "digest": None, "user": None, "uid": None, "gid": None,
                "ids_from": None, "user_error": None, "created": None, "size": None}
    return {
        "present": True,
        "id": inspect.get("Id"),
        "repo_digests": list(inspect.get("RepoDigests") or []),
        "digest": None,
        "user": (inspect.get("Config") or {}).get("User") or "",
        "uid": None,
        "gid": None,
        "ids_from": None,
        "user_error": None,
        "created": inspect.get("Created"),
        "size": inspect.get("Size"),
    }


def tar_member(raw, basename):
    """(kind, data) for the entry called basename in a tar stream: ("file", bytes), ("link", target) or (None, None)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            for member in archive.getmembers():
                if posixpath.basename(member.name.rstrip("/")) != basename:
                    continue
                if member.issym() or member.islnk():
                    return "link", member.linkname
                if member.isfile():
                    handle = archive.extractfile(member)
                    return "file", handle.read() if handle else b""
    except (tarfile.TarError, EOFError):
        return None, None
    return None, None


# ------------------------------------------------------------------ paths

def stat_path(path, stat=os.stat):
    """{exists, isdir, uid, gid, mode} of a host path (symlinks followed); mode as an octal string like "0755"."""
    try:
        found = stat(path)
    except OSError as error:
        entry = {"exists": False, "isdir": False, "uid": None, "gid": None, "mode": None}
        if not isinstance(error, FileNotFoundError) and not isinstance(error, NotADirectoryError):
            entry["error"] = "%s: %s" % (path, error.strerror or error)
        return entry
    return {
        "exists": True,
        "isdir": stat_module.S_ISDIR(found.st_mode),
        "uid": found.st_uid,
        "gid": found.st_gid,
        "mode": "%04o" % stat_module.S_IMODE(found.st_mode),
    }


# ------------------------------------------------------------------ the engine

def _image_path(reference):
    return "/images/%s/json" % quote(reference, safe="/:@")


def inspect_image(client, reference):
    """The image's inspect, or None when the engine has no such image."""
    status, data = client.get(_image_path(reference))
    if status == 404:
        return None
    if status != 200 or not isinstance(data, dict):
        message = data.get("message") if isinstance(data, dict) else None
        raise DockerSocketError("GET %s from %s: HTTP %s%s" % (_image_path(reference), client.where(), status, (": " + message) if message else ""))
    return data


def _read_from_container(client, container_id, path):
    """The bytes of path in a created container, or None when it has no such file. Follows symlinks."""
    for dummy in range(MAX_SYMLINKS):
        status, raw = client.get_raw("/containers/%s/archive?path=%s" % (container_id, quote(path, safe="")))
        if status == 404:
            return None
        if status != 200:
            raise DockerSocketError("reading %s out of the image: HTTP %s from %s" % (path, status, client.where()))
        kind, data = tar_member(raw, posixpath.basename(path))
        if kind == "file":
            return data
        if kind != "link":
            raise DockerSocketError("reading %s out of the image: the engine's archive holds no such file" % path)
        path = posixpath.normpath(posixpath.join(posixpath.dirname(path), data))
    raise DockerSocketError("reading out of the image: too many symbolic links")


def read_image_files(client, image, paths):
    """{path: text or None} of files in an image, read through a throwaway container that is never started.

    The container is removed (with its anonymous volumes) whatever happens; a
    failed removal raises DockerSocketError naming the container."""
    name = THROWAWAY_PREFIX + uuid.uuid4().hex[:12]
    body = {"Image": image, "Cmd": THROWAWAY_CMD, "Entrypoint": THROWAWAY_CMD, "Labels": {THROWAWAY_LABEL: "speech_info"},
            "NetworkDisabled": True, "HostConfig": {"NetworkMode": "none"}}
    status, created = client.post("/containers/create?name=%s" % name, body)
    if status not in (200, 201) or not isinstance(created, dict) or not created.get("Id"):
        message = created.get("message") if isinstance(created, dict) else None
        raise DockerSocketError("creating a throwaway container to read the image's users: HTTP %s%s" % (status, (": " + message) if message else ""))
    container_id = created["Id"]
    texts = {}
    try:
        for path in paths:
            data = _read_from_container(client, container_id, path)
            texts[path] = None if data is None else data.decode("utf-8", "replace")
    finally:
        try:
            removed, answer = client.delete("/containers/%s?force=1&v=1" % container_id)
        except DockerSocketError as error:
            raise DockerSocketError("could not remove the throwaway container %s: %s" % (name, error))
        if removed not in (200, 204, 404):
            message = answer.get("message") if isinstance(answer, dict) else None
            raise DockerSocketError("could not remove the throwaway container %s: HTTP %s%s" % (name, removed, (": " + message) if message else ""))
    return texts


def resolve_image_user(client, entry):
    """Fill uid, gid, ids_from and user_error of a present image's entry.

    Only a user or group name, or a bare uid (whose primary group is in
    /etc/passwd), makes the image's files be read."""
    user = entry["user"]
    needed = needs_files(user)
    if not needed:
        uid, gid, error = resolve_ids(user)
        entry.update(uid=uid, gid=gid, user_error=error, ids_from="config" if user else "default")
        return entry
    try:
        texts = read_image_files(client, entry["id"], needed)
    except DockerSocketError as error:
        name = parse_user(user)[0]
        # A bare uid is known even when its primary group could not be read.
        entry.update(uid=int(name) if name.isdigit() else None, user_error="user %r: %s" % (user, error))
        return entry
    uid, gid, error = resolve_ids(user, texts.get("/etc/passwd"), texts.get("/etc/group"))
    entry.update(uid=uid, gid=gid, user_error=error, ids_from="image" if error is None else None)
    return entry


def engine_version(client):
    """(version, api_version) of the engine; DockerSocketError when it does not answer."""
    version = client.get_json("/version") or {}
    return version.get("Version"), version.get("ApiVersion")


def list_containers(client, label):
    """Every container (running or not) with label=true, as container_summary() dicts, sorted by name."""
    listed = client.get_json("/containers/json?all=1&filters=%s" % list_filter(label)) or []
    found = []
    for item in listed:
        labels = item.get("Labels") or {}
        if labels.get(label) != "true":
            continue
        status, inspect = client.get("/containers/%s/json" % item.get("Id"))
        if status == 404:
            continue
        found.append(container_summary(item, inspect if status == 200 else None))
    return sorted(found, key=lambda c: c["name"])


def python_has(package):
    """Whether this Python can import the package (without importing it)."""
    try:
        import importlib.util
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def gather(client, images=(), paths=(), label=LABEL_MANAGED, state_dir=host_state.STATE_DIR):
    """The speech_info result: engine, containers, images, paths, and what the collection keeps on the host about its
    runs (host_state.summary: the lock's holder, the ready record, armed guards, the journal's last entries). Never
    raises for the engine."""
    result = {
        "engine": {"answers": False, "version": None, "api_version": None, "error": None},
        "containers": [],
        "images": dict((ref, image_summary(None)) for ref in images),
        "paths": dict((path, stat_path(path)) for path in paths),
        "host_state": host_state.summary(state_dir) if state_dir else None,
        # community.docker's modules need requests in the interpreter this module runs with.
        "python_requests": python_has("requests"),
    }
    engine = result["engine"]
    try:
        engine["version"], engine["api_version"] = engine_version(client)
        engine["answers"] = True
        result["containers"] = list_containers(client, label)
        resolved = {}  # image id -> its user's ids: two references to one image read it once
        for ref in images:
            inspect = inspect_image(client, ref)
            entry = image_summary(inspect)
            if inspect:
                entry["digest"] = digest_for(ref, entry["repo_digests"])
                if entry["id"] not in resolved:
                    resolve_image_user(client, entry)
                    resolved[entry["id"]] = dict((k, entry[k]) for k in ("uid", "gid", "ids_from", "user_error"))
                entry.update(resolved[entry["id"]])
            result["images"][ref] = entry
    except DockerSocketError as error:
        engine["error"] = str(error)
    return result
