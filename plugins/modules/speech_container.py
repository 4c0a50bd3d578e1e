#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: speech_container
short_description: Create, replace, restore and remove a host's speech containers as one transaction
version_added: 0.2.0
description:
  - Talks to the Docker engine's API socket with the Python standard library only; the C(docker) command is not needed on the host.
  - O(action=apply) takes the first part of a list of container changes, the part no community.docker module does. Each
    container's Docker state is dealt with, what an interrupted run left is taken back or removed, and a replaced container is
    renamed to C(<name>.previous) while it still serves. It returns the rest as RV(steps), which the role runs with
    C(community.docker.docker_container) in this order (create the successors, stop the previous containers, start the successors).
  - O(action=commit) records the successors proven ready (the host's ready record) and disarms the guard; with O(drop_previous), it
    also removes the C(<name>.previous) containers (the role removes them with C(community.docker.docker_container) first).
  - O(action=rollback) puts back what ran before, from what the engine holds now, so that it follows a failure at any step.
    A replaced container comes back from C(<name>.previous) and is started again when it ran; a new container is removed; a container
    whose state only changed gets its state back, except that one this run started from stopped is left running.
  - O(action=remove) removes managed containers (and any C(<name>.previous) of theirs); data directories stay.
  - O(action=license) runs the connected licence download of disconnected containers to its end and, only when it exits 0,
    writes the licence marker next to the licence directory.
  - O(action=run) runs one-shot containers (C(name), C(image); the diagnostic container) to their end with C(Eula) and the billing
    settings, and returns each one's exit code and output (the secrets removed); a non-zero exit is not a failure of the module,
    Docker's own refusals are.
  - Before a container is set aside, restarted or removed, its Docker state is read. A paused one is unpaused, a restarting one
    (a crash loop) stopped, a removal in progress waited for, a dead one removed; a state the module does not know fails that
    container with Docker's words. A C(<name>.previous) an interrupted run left is never removed before a successor is proven
    ready. C(change=resume) proves the interrupted successor ready, C(change=restore) puts the previous one back,
    C(keep_previous) replaces the unproven successor and keeps the previous one.
  - O(action=apply) arms the host's guard (with O(run) and O(guard_seconds)) for every container it sets aside. The guard is a process
    detached from the module and the connection that, if no O(action=commit) or O(action=rollback) of the same run disarms
    it within O(guard_seconds), puts the previous containers back by itself and writes what it did to the host's journal.
    O(action=commit) records the containers proven ready (the host's ready record) and fails when the guard already put
    the previous ones back.
  - Every failure fails the module at once, naming the container, the step and the engine's own message, with the secrets removed.
  - The billing settings reach a container through its environment (C(Eula), C(Billing), C(ApiKey)) unless
    O(billing_in=args), so the key is not in any user's process list.
author:
  - onprem.speech maintainers (@onprem)
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [apply, commit, rollback, remove, license, run]
  containers:
    description:
      - For O(action=apply) and O(action=license), the container specs of the C(onprem.speech.speech_plan) filter, each with
        C(change) (V(new), V(replace), V(restate), V(resume) or V(restore)), C(adopt) (take a C(<name>.previous) left by an
        interrupted run back first), C(keep_previous) (a replace that keeps the C(<name>.previous) an interrupted run left),
        and C(previous_id) and C(previous_running) (what the guard puts back).
      - For O(action=rollback), items with C(name), C(change), C(previous_id) and C(previous_running).
    type: list
    elements: dict
    default: []
  names:
    description: For O(action=commit) and O(action=remove), the container names.
    type: list
    elements: str
    default: []
  billing_endpoint:
    description: The Speech resource's endpoint.
    type: str
    default: ""
  api_key:
    description: The Speech resource's key. Never returned.
    type: str
    default: ""
  billing_in:
    description: Whether C(Eula), C(Billing) and C(ApiKey) are given as environment variables (V(env)) or as arguments (V(args)).
    type: str
    default: env
    choices: [env, args]
  secret_env:
    description: Secret environment variables per container name (a mapping of container name to a mapping of variable to value). Never returned.
    type: dict
    default: {}
  restart_policy:
    description: Docker's restart policy for the containers.
    type: str
    default: unless-stopped
    choices: ["no", on-failure, always, unless-stopped]
  drop_previous:
    description: For O(action=commit), remove the C(<name>.previous) containers too.
    type: bool
    default: true
  stop_timeout:
    description: Seconds a container gets to stop before it is killed.
    type: int
    default: 10
  license_timeout:
    description: Seconds the licence download (and a one-shot run) may take.
    type: int
    default: 300
  timeout:
    description: Seconds to wait for each answer from the Docker engine.
    type: int
    default: 60
  run:
    description:
      - The run this call belongs to (the C(onprem.speech.speech_run) lookup's C(run)); the guard of O(action=apply) is this run's,
        and only this run's O(action=commit) or O(action=rollback) disarms it. Without it, no guard is armed.
    type: str
    default: ""
  guard_seconds:
    description:
      - How long the guard of O(action=apply) waits for this run to confirm the successors ready (the readiness bound plus a
        margin) before it puts the previous containers back. V(0) arms no guard.
    type: int
    default: 0
  state_dir:
    description: The host's directory for the collection's lock, journal, ready record and guards (root's only).
    type: path
    default: /var/lib/onprem-speech/state
extends_documentation_fragment:
  - onprem.speech.attributes
  - onprem.speech.docker_host
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - In check mode nothing is asked of the engine but the inspects of O(action=rollback) and O(action=remove); the predicted actions are returned.
notes:
  - Use the task keyword C(no_log) on every task that passes O(api_key) or O(secret_env); the module removes them from its own messages.
seealso:
  - module: onprem.speech.speech_info
  - module: onprem.speech.readiness
"""

EXAMPLES = r"""
---
- name: Set aside the containers that are replaced (they keep serving as <name>.previous)
  onprem.speech.speech_container:
    action: apply
    containers: "{{ planned | map('combine', {'change': 'replace'}) }}"
  register: applied

# The role creates them with every option of their spec (onprem.speech.speech_container_params).
- name: Create the successors, not started
  community.docker.docker_container:
    name: "{{ item }}"
    image: "{{ (planned | selectattr('name', '==', item) | first).image }}"
    state: present
  loop: "{{ applied.steps.create }}"

- name: Stop the previous containers (they give up their ports), then start the successors the same way
  community.docker.docker_container:
    name: "{{ item.target }}"
    state: stopped
    comparisons: {"*": ignore}
  loop: "{{ applied.steps.stop }}"

- name: Record the successors ready and drop the previous containers
  onprem.speech.speech_container:
    action: commit
    names: [stt-en]
"""

RETURN = r"""
runs:
  description: For O(action=run), one entry per container with C(name), C(exit_code) and C(output) (the secrets removed).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "onprem-speech-diagnostic", "exit_code": 0, "output": "[PASS] Billing endpoint URI is valid ..."}]
actions:
  description: What was done (or, in check mode, would be done), one entry per step that changed something.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The container.
      type: str
      returned: always
      sample: stt-en
    action:
      description: V(created), V(replaced), V(started), V(stopped), V(removed), V(restored), V(left running), V(licence fetched), ...
      type: str
      returned: always
      sample: replaced
    detail:
      description: More words, where there are any.
      type: str
      returned: when there is more to say
      sample: it was new
steps:
  description:
    - For O(action=apply), what is left to do after the set-aside, in this order (the role runs it with
      C(community.docker.docker_container)). C(create) lists the containers to create from their specs (not started);
      C(stop) and C(start) list C(name) (the container of the plan), C(target) (the Docker container to stop or start,
      C(<name>) or C(<name>.previous)) and C(step) (V(stop_previous), V(stop), V(start) or V(restore), as failures name it).
  returned: always
  type: dict
  sample: {"create": ["tts"], "stop": [{"name": "tts", "target": "tts.previous", "step": "stop_previous"}],
           "start": [{"name": "tts", "target": "tts", "step": "start"}]}
problems:
  description: For O(action=rollback), the steps of the rollback that failed (the module then fails too).
  returned: always
  type: list
  elements: str
step:
  description: When the module failed, the step that failed (V(set_aside), V(create), V(stop_previous), V(start), V(drop_previous), V(restore), ...).
  returned: on failure
  type: str
  sample: create
container:
  description: When the module failed, the container whose step failed.
  returned: on failure
  type: str
  sample: stt-en
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.speech.plugins.module_utils import container_ops, guard, host_state
from ansible_collections.onprem.speech.plugins.module_utils.docker_socket import DockerClient, parse_docker_host

# The changes whose container keeps a <name>.previous while its successor is proven: the guard watches them.
GUARDED = ("replace", "resume")

NEEDS = {
    "apply": ("name", "image", "state", "change", "container_port", "host_port", "cpus", "memory_mb"),
    "license": ("name", "image", "dirs", "container_port", "cpus", "memory_mb"),
    "rollback": ("name", "change"),
    "commit": (),
    "remove": (),
    "run": ("name", "image"),
}


def check(params):
    problems = []
    try:
        parse_docker_host(params["docker_host"])
    except ValueError as error:
        problems.append(str(error))
    for option in ("timeout", "stop_timeout", "license_timeout"):
        if params[option] < 1:
            problems.append("%s: %s; give a number of seconds, at least 1" % (option, params[option]))
    for index, item in enumerate(params["containers"]):
        missing = [key for key in NEEDS[params["action"]] if key not in item]
        if missing:
            problems.append("containers[%d]: %s missing for action %s" % (index, ", ".join(missing), params["action"]))
        elif params["action"] in ("apply", "rollback") and item["change"] not in container_ops.CHANGES:
            problems.append("containers[%d].change: %r; allowed: %s" % (index, item["change"], ", ".join(container_ops.CHANGES)))
    return problems


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=["apply", "commit", "rollback", "remove", "license", "run"]),
            containers=dict(type="list", elements="dict", default=[]),
            names=dict(type="list", elements="str", default=[]),
            billing_endpoint=dict(type="str", default=""),
            api_key=dict(type="str", default="", no_log=True),
            billing_in=dict(type="str", default="env", choices=["env", "args"]),
            secret_env=dict(type="dict", default={}, no_log=True),
            restart_policy=dict(type="str", default="unless-stopped", choices=["no", "on-failure", "always", "unless-stopped"]),
            drop_previous=dict(type="bool", default=True),
            stop_timeout=dict(type="int", default=10),
            license_timeout=dict(type="int", default=300),
            timeout=dict(type="int", default=60),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            run=dict(type="str", default=""),
            guard_seconds=dict(type="int", default=0),
            state_dir=dict(type="path", default=host_state.STATE_DIR),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = check(params)
    if problems:
        module.fail_json(msg="; ".join(problems))

    secret_env = params["secret_env"] or {}
    secrets = [params["api_key"]] + [str(v) for values in secret_env.values() if isinstance(values, dict) for v in values.values()]
    engine = container_ops.Engine(DockerClient(params["docker_host"], params["timeout"]), secrets, params["stop_timeout"])
    check_mode = module.check_mode
    action = params["action"]
    items = params["containers"]

    def body(spec, mode="run"):
        return container_ops.create_body(spec, params["billing_endpoint"], params["api_key"], params["billing_in"],
                                         secret_env.get(spec["name"]) or {}, params["restart_policy"], mode)

    state_dir, run = params["state_dir"], params["run"]
    actions, problems, runs, guarded, steps = [], [], [], [], {"create": [], "stop": [], "start": []}
    try:
        if action == "apply":
            guarded = [{"name": i["name"], "previous_id": i.get("previous_id"), "previous_running": i.get("previous_running", True)}
                       for i in items if i["change"] in GUARDED]
            if guarded and run and params["guard_seconds"] > 0 and not check_mode:
                # Armed before anything is set aside: a controller lost at any step after this is covered.
                guard.arm(state_dir, run, guarded, params["guard_seconds"], params["docker_host"])
                watcher = container_ops.Engine(DockerClient(params["docker_host"], params["timeout"]), secrets, params["stop_timeout"])
                guard.spawn(lambda: guard.watch(state_dir, run, watcher))
            actions, steps = container_ops.set_aside(engine, [{"spec": item, "change": item["change"], "adopt": item.get("adopt"),
                                                               "keep_previous": item.get("keep_previous")} for item in items], check_mode)
        elif action == "commit":
            if run and not check_mode:
                armed = guard.disarm(state_dir, run, params["names"])
                put_back = [n for n in params["names"] if n not in armed and guard.fired(state_dir, run, [n])]
                if put_back:
                    raise container_ops.StepError(put_back[0], "drop_previous", "the host's guard already put back %s (this run did not "
                                                  "confirm the successors ready in time); the host serves what ran before" % ", ".join(put_back))
            actions = container_ops.commit(engine, params["names"], check_mode, drop=params["drop_previous"])
            if not check_mode:
                ready = dict((a["name"], {"id": a.get("ready_id")}) for a in actions if a.get("ready_id"))
                if ready:
                    host_state.record_ready(state_dir, ready, run=run or None)
        elif action == "remove":
            actions = container_ops.remove(engine, params["names"], check_mode)
        elif action == "run":
            for item in items:
                code, output = (None, "") if check_mode else container_ops.run_once(
                    engine, item["name"], item["name"], body(item, "oneshot"), params["license_timeout"], "oneshot")
                runs.append({"name": item["name"], "exit_code": code, "output": output})
        elif action == "license":
            for item in items:
                actions.append(container_ops.fetch_license(engine, item, body(item, "license"), params["license_timeout"], check_mode))
        else:
            if run and not check_mode:
                guard.disarm(state_dir, run, [item["name"] for item in items])
            actions, problems = container_ops.rollback(engine, items, check_mode)
    except container_ops.StepError as error:
        module.fail_json(msg=str(error), step=error.step, container=error.name, actions=actions, problems=problems,
                         changed=bool(actions) and not check_mode)
    if problems:
        module.fail_json(msg="the rollback did not finish: " + "; ".join(problems), actions=actions, problems=problems, changed=bool(actions))
    module.exit_json(changed=bool(actions), actions=actions, problems=problems, runs=runs, steps=steps)


if __name__ == "__main__":
    main()
