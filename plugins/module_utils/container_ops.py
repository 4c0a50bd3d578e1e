# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A replace as a transaction, through the Docker Engine API (the speech_container module).

Nothing here needs the docker command: every step is one request to the engine's
socket (docker_socket.DockerClient), so a host without a Docker client package
(Debian 13's docker.io without its recommended docker-cli) is served alike.

The steps of one container, in the order apply() takes them:

  replace   rename the running container to <name>.previous (it keeps serving),
            create the successor as <name>, stop the previous one, start the successor;
  new       create and start;
  restate   start or stop the same container;
  resume    an earlier run was cut short after it set <name>.previous aside and created
            <name> with this very spec: <name> is started if need be and proven ready, and
            <name>.previous is kept until it is;
  restore   an earlier run was cut short, and the plan wants <name>.previous's spec back:
            the unproven <name> is removed, <name>.previous renamed back and started.

A replace whose <name>.previous an earlier run left (keep_previous) keeps that one: it is the
last container proven ready, so the unproven <name> is removed and the successor created
without another set-aside; no code path removes a <name>.previous before its successor is
proven ready (commit).

Before a container is set aside, restarted or removed, its Docker state is read and dealt
with (settle): a paused one is unpaused, a restarting one (a crash loop) stopped, a removal
in progress waited for, a dead one removed (it can neither serve nor be started); a state
Docker may add one day fails that container with Docker's words, changing nothing.

commit() removes the <name>.previous containers once their successors are proven
ready. rollback() puts back what ran before, from what it finds on the engine
(so it can follow a failure at any step, and run twice): a successor is removed
only when a previous container is there to take its place, a previous container
is renamed back and started again when it ran, a new container is removed, a
restated one gets its state back (a container the run started from stopped is
left running: stopping it again would serve nobody).

Every failure raises StepError naming the container, the step and the engine's
own words, with the secrets removed. The secrets (the API key, secret environment
values) reach the engine in the create request only; they are never returned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import struct
from urllib.parse import quote

from ansible_collections.onprem.speech.plugins.module_utils.docker_socket import DockerSocketError, error_message
from ansible_collections.onprem.speech.plugins.module_utils.labels import LABEL_MANAGED, PREVIOUS_SUFFIX
from ansible_collections.onprem.speech.plugins.module_utils import text as textutil

STOP_SECONDS = 10
# Steps, as the messages name them.
STEPS = {
    "set_aside": "keep the running container as {name}.previous",
    "create": "create the new container",
    "stop_previous": "stop the previous container",
    "start": "start the new container",
    "stop": "stop the container",
    "remove": "remove the container",
    "drop_previous": "remove the previous container {name}.previous",
    "restore": "put back {name}.previous as {name}",
    "license": "fetch the licence",
    "oneshot": "run the one-shot container",
    "settle": "bring the container out of its state ({state})",
    "resume": "resume the interrupted replace of {name}",
    "drop_unproven": "remove the unproven {name} left by an interrupted run",
}

# Docker's container states (State.Status); how apply() deals with each is settle()'s.
DOCKER_STATES = ("created", "running", "paused", "restarting", "exited", "dead", "removing")
# How long a removal in progress is waited for, and how often it is looked at.
REMOVAL_WAIT_SECONDS = 20
REMOVAL_POLL_SECONDS = 0.5


class StepError(Exception):
    """A step that failed: container name, step key and the engine's words (secrets removed)."""

    def __init__(self, name, step, detail, state=None):
        self.name = name
        self.step = step
        self.detail = detail
        Exception.__init__(self, "%s: %s failed: %s" % (name, STEPS.get(step, step).format(name=name, state=state or "?"), detail))


def docker_words(message):
    """Docker's own words in a community.docker failure ("Error creating container: 400 Client Error for http+docker://...:
    Bad Request ("Minimum memory limit allowed is 6MB")" gives "Minimum memory limit allowed is 6MB")."""
    message = "" if message is None else str(message)
    quoted = re.search(r'\("(.*)"\)\s*$', message, re.S)
    if quoted:
        return quoted.group(1)
    return re.sub(r"^Error \w+ container( [^:]*)?: ", "", message)


def step_failure(name, step, message):
    """A failed step's message, as StepError words it: "<name>: <step> failed: <Docker's words>" (the caller removes the secrets)."""
    return str(StepError(name, step, docker_words(message)))


def redact(words, secrets):
    """The text with every secret replaced by <hidden> (module_utils/text.py's one rule)."""
    return textutil.redact(words, secrets)


# ------------------------------------------------------------------ what the engine is asked

def billing_env(spec, endpoint, api_key):
    """Eula, Billing and ApiKey as environment variables (the Azure Container Instances form):
    only root and the container's own user can read a process's environment, while its
    arguments are in every user's `ps`. A disconnected container gets Eula only."""
    env = [("Eula", "accept")]
    if not spec.get("disconnected"):
        env += [("Billing", endpoint or ""), ("ApiKey", api_key or "")]
    return env


def command(spec, endpoint=None, api_key=None, billing_in="env", mode="run"):
    """The container's arguments. mode "license" is the connected licence download, "oneshot" a run
    of the diagnostic container (Eula and billing only)."""
    args = []
    if mode == "oneshot":
        return ["Eula=accept", "Billing=%s" % endpoint, "ApiKey=%s" % api_key] if billing_in == "args" else ["Eula=accept"]
    if mode == "license":
        args = ["DownloadLicense=True", "Mounts:License=/license"] + [a for a in spec.get("args") or [] if a.startswith("ModelId=")]
        if billing_in == "args":
            return ["Eula=accept", "Billing=%s" % endpoint, "ApiKey=%s" % api_key] + args
        return ["Eula=accept"] + args
    if billing_in == "args":
        args = ["%s=%s" % pair for pair in billing_env(spec, endpoint, api_key)]
        args[0] = "Eula=accept"
    return args + list(spec.get("args") or [])


def environment(spec, endpoint=None, api_key=None, billing_in="env", secret_env=None, mode="run"):
    """The container's environment, as the engine takes it (["NAME=value", ...]), sorted by name."""
    env = dict((str(k), str(v)) for k, v in (spec.get("env") or {}).items())
    env.update((str(k), str(v)) for k, v in (secret_env or {}).items())
    if billing_in == "env":
        pairs = billing_env(dict(spec, disconnected=False) if mode in ("license", "oneshot") else spec, endpoint, api_key)
        env.update(pairs)
    return ["%s=%s" % (k, env[k]) for k in sorted(env)]


def memory_bytes(spec):
    return int(spec["memory_mb"]) * 1024 * 1024


def create_body(spec, endpoint=None, api_key=None, billing_in="env", secret_env=None, restart_policy="unless-stopped", mode="run"):
    """The POST /containers/create body of a container spec (the plan's shape)."""
    if mode == "oneshot":
        return {"Image": spec["image"], "Cmd": command(spec, endpoint, api_key, billing_in, mode),
                "Env": environment(spec, endpoint, api_key, billing_in, secret_env, mode),
                "Labels": {"onprem.speech.oneshot": spec["name"]}, "HostConfig": {"RestartPolicy": {"Name": "no"}}}
    port = "%d/tcp" % spec["container_port"]
    host = {
        "NanoCpus": int(round(float(spec["cpus"]) * 1e9)),
        "Memory": memory_bytes(spec),
        "Mounts": [{"Type": "bind", "Source": m["source"], "Target": m["target"]} for m in spec.get("mounts") or []],
    }
    if mode == "license":
        host["Mounts"] = [m for m in host["Mounts"] if m["Target"] != "/output"]
        host["RestartPolicy"] = {"Name": "no"}
        labels = {"onprem.speech.license-for": spec["name"]}
        exposed = {}
    else:
        host["PortBindings"] = {port: [{"HostIp": "" if spec.get("host_ip") in (None, "0.0.0.0") else spec["host_ip"],
                                        "HostPort": str(spec["host_port"])}]}
        host["RestartPolicy"] = {"Name": restart_policy, "MaximumRetryCount": 0} if restart_policy == "on-failure" else {"Name": restart_policy}
        labels = dict(spec.get("labels") or {})
        exposed = {port: {}}
    return {
        "Image": spec["image"],
        "Cmd": command(spec, endpoint, api_key, billing_in, mode),
        "Env": environment(spec, endpoint, api_key, billing_in, secret_env, mode),
        "Labels": labels,
        "ExposedPorts": exposed,
        "HostConfig": host,
    }


def published_port(spec):
    """community.docker's published_ports entry of a spec: [host_ip:]host_port:container_port, an IPv6 address in brackets."""
    host_ip = spec.get("host_ip")
    port = "%d:%d" % (int(spec["host_port"]), int(spec["container_port"]))
    if host_ip in (None, "", "0.0.0.0"):
        return port
    return "%s:%s" % (textutil.url_host(host_ip), port)


def container_params(spec, endpoint=None, api_key=None, billing_in="env", secret_env=None, restart_policy="unless-stopped"):
    """community.docker.docker_container's options for creating the container of a spec: the same container as
    create_body() describes (its image, arguments, environment with the secrets, port, limits, mounts, labels and
    restart policy), then the spec's docker_options (checked on the controller: none of them is one of these; labels
    are added to the collection's, mounts and volumes after its own)."""
    env = dict(pair.split("=", 1) for pair in environment(spec, endpoint, api_key, billing_in, secret_env))
    params = {
        "name": spec["name"],
        "image": spec["image"],
        "command": command(spec, endpoint, api_key, billing_in),
        "env": env,
        "published_ports": [published_port(spec)],
        "cpus": float(spec["cpus"]),
        "memory": "%dM" % int(spec["memory_mb"]),
        "mounts": [{"type": "bind", "source": m["source"], "target": m["target"]} for m in spec.get("mounts") or []],
        "labels": dict(spec.get("labels") or {}),
        "restart_policy": restart_policy,
    }
    if restart_policy == "on-failure":
        params["restart_retries"] = 0
    for key, value in sorted((spec.get("docker_options") or {}).items()):
        if key == "labels":
            params["labels"] = dict(dict((str(k), str(v)) for k, v in (value or {}).items()), **params["labels"])
        elif key == "mounts":
            params["mounts"] = params["mounts"] + list(value or [])
        else:
            params[key] = value
    return params


def demux_logs(raw):
    """A container's log stream as text: the engine frames stdout and stderr (8-byte headers) when there is no TTY."""
    raw = raw or b""
    out, index = [], 0
    while index + 8 <= len(raw) and raw[index] in (0, 1, 2) and raw[index + 1:index + 4] == b"\x00\x00\x00":
        size = struct.unpack(">I", raw[index + 4:index + 8])[0]
        out.append(raw[index + 8:index + 8 + size])
        index += 8 + size
    if index < len(raw) and not out:
        return raw.decode("utf-8", "replace")
    return b"".join(out).decode("utf-8", "replace")


def last_lines(text, count=6, limit=600):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    joined = " | ".join(lines[-count:])
    return joined if len(joined) <= limit else "..." + joined[-limit:]


def license_marker(spec):
    """The file that says a licence was fetched for this container's image (fetched again when the image changes)."""
    license_dir = [d["path"] for d in spec["dirs"] if d["purpose"] == "license"][0]
    return "%s.fetched-for-%s" % (license_dir, hashlib.sha256(spec["image"].encode("utf-8")).hexdigest()[:12])


# ------------------------------------------------------------------ the engine

class Engine(object):
    """The requests of a transaction; every failure raises StepError with the engine's words."""

    def __init__(self, client, secrets=(), stop_seconds=STOP_SECONDS, sleep=None, clock=None):
        self.client = client
        self.secrets = [s for s in secrets if s]
        self.stop_seconds = stop_seconds
        self.sleep = sleep or _sleep
        self.clock = clock or _clock

    def _fail(self, name, step, status, data):
        raise StepError(name, step, redact(error_message(status, data), self.secrets))

    def _call(self, name, step, method, path, body=None, ok=(200, 201, 204), timeout=None):
        try:
            if method == "POST":
                status, data = self.client.post(path, body, timeout=timeout)
            elif method == "DELETE":
                status, data = self.client.delete(path)
            else:
                status, data = self.client.get(path)
        except DockerSocketError as error:
            raise StepError(name, step, redact(str(error), self.secrets))
        if status not in ok:
            self._fail(name, step, status, data)
        return status, data

    def inspect(self, name):
        """The container's inspect, or None when there is none by that name."""
        try:
            status, data = self.client.get("/containers/%s/json" % quote(name, safe=""))
        except DockerSocketError as error:
            raise StepError(name, "inspect", redact(str(error), self.secrets))
        if status == 404:
            return None
        if status != 200 or not isinstance(data, dict):
            self._fail(name, "inspect", status, data)
        return data

    def rename(self, name, current, new_name, step):
        self._call(name, step, "POST", "/containers/%s/rename?name=%s" % (quote(current, safe=""), quote(new_name, safe="")))

    def stop(self, name, target, step):
        # 304: already stopped.
        self._call(name, step, "POST", "/containers/%s/stop?t=%d" % (quote(target, safe=""), self.stop_seconds), ok=(204, 304),
                   timeout=self.stop_seconds + 30)

    def unpause(self, name, target, step):
        self._call(name, step, "POST", "/containers/%s/unpause" % quote(target, safe=""), ok=(204,))

    def start(self, name, target, step):
        self._call(name, step, "POST", "/containers/%s/start" % quote(target, safe=""), ok=(204, 304), timeout=60)

    def remove(self, name, target, step):
        self._call(name, step, "DELETE", "/containers/%s?force=1&v=1" % quote(target, safe=""), ok=(200, 204, 404))

    def create(self, name, body, step="create"):
        status, data = self._call(name, step, "POST", "/containers/create?name=%s" % quote(name, safe=""), body, ok=(200, 201))
        return (data or {}).get("Id")

    def wait(self, name, target, timeout, step):
        status, data = self._call(name, step, "POST", "/containers/%s/wait" % quote(target, safe=""), timeout=timeout)
        return (data or {}).get("StatusCode")

    def logs(self, target):
        try:
            status, raw = self.client.get_raw("/containers/%s/logs?stdout=1&stderr=1&tail=40" % quote(target, safe=""), accept="*/*")
        except DockerSocketError:
            return ""
        return redact(demux_logs(raw), self.secrets) if status == 200 else ""


def _sleep(seconds):
    import time
    time.sleep(seconds)


def _clock():
    import time
    return time.monotonic()


def state_of(inspect):
    """Docker's state of a container (State.Status): created, running, paused, restarting, exited, dead, removing."""
    state = (inspect or {}).get("State") or {}
    status = state.get("Status")
    if status:
        return status
    # An engine that does not say Status (very old): from the flags.
    for flag, name in (("Dead", "dead"), ("Paused", "paused"), ("Restarting", "restarting"), ("Running", "running")):
        if state.get(flag):
            return name
    return "exited"


def _running(inspect):
    """Whether the container runs and serves: State.Running is true for a paused and a restarting one too."""
    return state_of(inspect) == "running"


def settle(engine, name, target, step="settle"):
    """Bring the container `target` into a state in which it can be renamed, stopped, started or removed, from the
    state Docker reports: a paused one is unpaused (it serves again, until it is set aside), a restarting one (a
    crash loop: its rename fails with "sandbox ... not found") is stopped, which ends the loop; a removal in progress
    is waited for. A dead one is left as it is (the caller removes it). Returns the container's inspect after, or None
    when there is no such container (any more). A state this code does not know fails with Docker's words."""
    found = engine.inspect(target)
    if found is None:
        return None
    state = state_of(found)
    if state in ("running", "exited", "created", "dead"):
        return found
    if state == "paused":
        engine.unpause(name, target, step)
    elif state == "restarting":
        engine.stop(name, target, step)
    elif state == "removing":
        deadline = engine.clock() + REMOVAL_WAIT_SECONDS
        while found is not None and state_of(found) == "removing":
            if engine.clock() >= deadline:
                raise StepError(name, step, "Docker has been removing %s for %d s (state removing); it cannot be replaced until the "
                                "removal ends" % (target, REMOVAL_WAIT_SECONDS), state)
            engine.sleep(REMOVAL_POLL_SECONDS)
            found = engine.inspect(target)
        return found
    else:
        raise StepError(name, step, "Docker reports the state %r, which the collection does not know (it knows %s); nothing was "
                        "changed on this container" % (state, ", ".join(DOCKER_STATES)), state)
    return engine.inspect(target)


def _managed(inspect):
    return (((inspect or {}).get("Config") or {}).get("Labels") or {}).get(LABEL_MANAGED) == "true"


# ------------------------------------------------------------------ the transaction

CHANGES = ("new", "replace", "restate", "resume", "restore")


def set_aside(engine, items, check_mode=False):
    """The first part of a transaction, which needs the rename no community.docker module makes: for each item
    {spec, change (new|replace|restate|resume|restore), adopt, keep_previous}, deal with the container's Docker state
    (settle), with what an interrupted run left, and set a replaced container aside as <name>.previous (it keeps
    serving). Returns (actions, steps): steps are what is left to do, in this order, by community.docker's
    docker_container in the role (or by run_steps() with this engine):

      {"create": [name, ...],                              create <name> from its spec (not started)
       "stop":  [{"name", "target", "step"}, ...],         stop target (<name>.previous, or <name> itself)
       "start": [{"name", "target", "step"}, ...]}         start target

    A <name>.previous is never removed here: commit() drops it once its successor is proven ready."""
    actions, steps = [], {"create": [], "stop": [], "start": []}
    for item in items:
        spec, change = item["spec"], item["change"]
        name = spec["name"]
        previous = name + PREVIOUS_SUFFIX
        started = spec["state"] == "started"
        if check_mode:
            actions.append({"name": name, "action": change})
            continue
        if item.get("adopt"):
            # An earlier run was cut short after setting the container aside: take it back first.
            settle(engine, name, previous, "restore")
            engine.rename(name, previous, name, "restore")
        if change == "restore":
            # The unproven successor an interrupted run left goes; the container it replaced comes back.
            current = engine.inspect(name)
            if current is not None:
                engine.remove(name, name, "drop_unproven")
            settle(engine, name, previous, "restore")
            engine.rename(name, previous, name, "restore")
            if started:
                steps["start"].append({"name": name, "target": name, "step": "restore"})
            actions.append({"name": name, "action": "restored", "detail": "from %s (an interrupted run)" % previous})
            continue
        current = settle(engine, name, name, "settle")
        if current is not None and state_of(current) == "dead":
            # A dead container can neither serve nor be started or renamed: only removed.
            engine.remove(name, name, "remove")
            current = None
        if change == "resume":
            if current is None:
                raise StepError(name, "resume", "%s is gone from the host since this run looked" % name)
            if started and not _running(current):
                steps["start"].append({"name": name, "target": name, "step": "start"})
            actions.append({"name": name, "action": "replaced", "detail": "the interrupted replace resumed; %s kept until it is ready" % previous})
            continue
        if change == "restate" and current is None:
            # Dead (removed just now) or removed by Docker since the look: made again from the plan.
            change = "new"
        if change == "restate":
            if started:
                if not _running(current):
                    steps["start"].append({"name": name, "target": name, "step": "start"})
            else:
                steps["stop"].append({"name": name, "target": name, "step": "stop"})
            actions.append({"name": name, "action": "started" if started else "stopped"})
            continue
        if change == "replace" and current is not None:
            if item.get("keep_previous"):
                # <name>.previous is the last container proven ready; <name> is an unproven successor an earlier run left.
                engine.remove(name, name, "drop_unproven")
            else:
                # Renaming leaves it running: it serves until its successor starts.
                engine.rename(name, name, previous, "set_aside")
        elif current is not None:
            # A container of that name came back since the look (a "new" that is not): Docker's words, nothing changed.
            raise StepError(name, "create", "a container named %s is on the host (state %s) since this run looked" % (name, state_of(current)))
        steps["create"].append(name)
        if change == "replace" and not item.get("keep_previous") and current is not None:
            steps["stop"].append({"name": name, "target": previous, "step": "stop_previous"})
        if started:
            steps["start"].append({"name": name, "target": name, "step": "start"})
        replaced = change == "replace" and (current is not None or item.get("keep_previous"))
        actions.append({"name": name, "action": "replaced" if replaced else "created"})
    return actions, steps


def run_steps(engine, steps, make_body, specs):
    """The steps set_aside() left, through this engine: every creation, then every stop (the previous containers
    give up their ports), then every start. The role runs the same steps with community.docker.docker_container;
    this is the same order, for the fake engine of the unit tests and for a host without Ansible (none today)."""
    for name in steps["create"]:
        engine.create(name, make_body(specs[name]))
    for stop in steps["stop"]:
        engine.stop(stop["name"], stop["target"], stop["step"])
    for start in steps["start"]:
        engine.start(start["name"], start["target"], start["step"])


def apply(engine, items, make_body, check_mode=False):
    """A whole apply through this engine: set_aside(), then run_steps(); returns the actions taken, in order.
    Stops at the first failure (StepError); what was done before it is undone by rollback()."""
    actions, steps = set_aside(engine, items, check_mode)
    if not check_mode:
        run_steps(engine, steps, make_body, dict((item["spec"]["name"], item["spec"]) for item in items))
    return actions


def commit(engine, names, check_mode=False, drop=True):
    """Remove the <name>.previous containers of replaced containers, now that their successors are proven ready
    (drop=False: the role removed them already, with community.docker); returns the actions, each with the id of
    the container now proven ready (the host's ready record)."""
    actions = []
    for name in names:
        ready = engine.inspect(name) if not check_mode else None
        if not check_mode and drop:
            engine.remove(name, name + PREVIOUS_SUFFIX, "drop_previous")
        actions.append({"name": name, "action": "dropped " + name + PREVIOUS_SUFFIX, "ready_id": (ready or {}).get("Id")})
    return actions


def rollback(engine, items, check_mode=False):
    """Put back what ran before; each item {name, change, previous_id, previous_running}.

    Works from what the engine holds now, so it follows a failure at any step of apply()
    or commit(). Returns (actions, problems): problems are steps of the rollback that
    failed (it goes on with the other containers)."""
    actions, problems = [], []
    for item in items:
        name, change = item["name"], item["change"]
        try:
            actions.extend(_rollback_one(engine, name, change, item.get("previous_id"), bool(item.get("previous_running")), check_mode))
        except StepError as error:
            problems.append(str(error))
    return actions, problems


def _rollback_one(engine, name, change, previous_id, previous_running, check_mode):
    current = engine.inspect(name)
    kept = engine.inspect(name + PREVIOUS_SUFFIX)
    done = []
    if change == "restore":
        # What the run put back is what served before: nothing older to return to.
        if current is not None and previous_running and not _running(current) and not check_mode:
            settle(engine, name, name, "restore")
            engine.start(name, name, "restore")
        return [{"name": name, "action": "kept", "detail": "it is what served before the interrupted run"}]
    if change == "resume":
        change = "replace"
    if change == "new":
        if current is not None and _managed(current):
            if not check_mode:
                engine.remove(name, name, "remove")
            done.append({"name": name, "action": "removed", "detail": "it was new"})
        return done
    if change == "replace" and kept is not None and (previous_id is None or kept.get("Id") == previous_id):
        if current is not None and current.get("Id") != kept.get("Id"):
            if not check_mode:
                engine.remove(name, name, "remove")
        if check_mode:
            return [{"name": name, "action": "restored"}]
        settle(engine, name, name + PREVIOUS_SUFFIX, "restore")
        try:
            engine.rename(name, name + PREVIOUS_SUFFIX, name, "restore")
            serving_as = name
        except StepError as error:
            # It still serves under its kept name; the next run renames it back.
            serving_as = name + PREVIOUS_SUFFIX
            done.append({"name": name, "action": "restore failed", "detail": error.detail})
        if previous_running:
            engine.start(name, serving_as, "restore")
        done.append({"name": name, "action": "restored" if serving_as == name else "restored as " + serving_as,
                     "detail": "running" if previous_running else "stopped, as it was"})
        return done
    # Not set aside (the failure came before), or a state change only: the same container.
    if current is None:
        if change == "replace":
            done.append({"name": name, "action": "lost", "detail": "neither %s nor %s%s is on the host" % (name, name, PREVIOUS_SUFFIX)})
        return done
    if previous_id is not None and current.get("Id") != previous_id:
        return done
    running = _running(current)
    if previous_running and not running:
        if not check_mode:
            if state_of(settle(engine, name, name, "restore")) != "running":
                engine.start(name, name, "restore")
        done.append({"name": name, "action": "started again"})
    elif running and not previous_running:
        done.append({"name": name, "action": "left running", "detail": "it was stopped before this run; stopping it again would serve nobody"})
    return done


def remove(engine, names, check_mode=False):
    """Remove managed containers (and any <name>.previous of theirs); their data directories stay."""
    actions = []
    for name in names:
        for target in (name, name + PREVIOUS_SUFFIX):
            found = engine.inspect(target)
            if found is not None and state_of(found) == "removing":
                found = settle(engine, name, target, "remove")
            if found is None or not _managed(found):
                continue
            if not check_mode:
                engine.remove(name, target, "remove")
            actions.append({"name": target, "action": "removed"})
    return actions


def run_once(engine, name, helper, body, timeout, step):
    """Run a container to its end and remove it: (exit code, its output with the secrets removed).

    Docker's own refusals (no image, a bad setting) raise StepError; the exit code is the caller's to judge."""
    engine.remove(name, helper, step)
    container_id = engine.create(helper, body, step=step)
    try:
        engine.start(name, container_id, step)
        code = engine.wait(name, container_id, timeout, step)
        output = engine.logs(container_id)
    finally:
        try:
            engine.remove(name, container_id, step)
        except StepError:
            pass
    return code, output


def fetch_license(engine, spec, body, timeout, check_mode=False, write=None):
    """Run the licence download of a disconnected container to its end; write its marker only when it exited 0.

    write(path, text) writes the marker (a plain file write by default)."""
    name = spec["name"]
    if check_mode:
        return {"name": name, "action": "licence fetched"}
    code, output = run_once(engine, name, name + "-license", body, timeout, "license")
    if code != 0:
        raise StepError(name, "license", "the licence download exited %s: %s" % (code, last_lines(output) or "(no output)"))
    marker = license_marker(spec)
    try:
        (write or _write)(marker, spec["image"] + "\n")
    except (IOError, OSError) as error:
        raise StepError(name, "license", "the licence was fetched, but its marker %s could not be written: %s" % (marker, error))
    return {"name": name, "action": "licence fetched", "detail": os.path.basename(marker)}


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o644)
