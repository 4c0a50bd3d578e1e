#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: speech_info
short_description: Read a host's speech containers, their images and directories in one call
version_added: 0.1.0
description:
  - Returns, in one module call, what the C(onprem.speech.speech_containers) role needs to decide what to change on a host,
    namely the managed speech containers (running or not), the planned images (present, digest, the uid and gid they run as)
    and the host directories they mount.
  - The Docker engine is asked through its API socket with the Python standard library only; neither the
    Docker SDK nor C(requests) is needed on the target.
  - When an image's C(Config.User) is a user or group name (for example C(nonroot)), or a bare uid whose primary group
    only the image's C(/etc/passwd) knows, the image's C(/etc/passwd) (and C(/etc/group)) is read without running the image.
    A throwaway container named C(onprem-speech-info-<random>) is created (never started), the file is copied out of it,
    and the container is removed with its anonymous volumes, whatever happened in between.
  - This is done in check mode too, since it leaves nothing behind.
  - The module never fails because the engine does not answer; it then returns C(engine.answers=false), no containers
    and every image as not present, and the caller decides. It fails only on bad arguments.
author:
  - onprem.speech maintainers (@onprem)
options:
  images:
    description:
      - Image references to inspect, as the containers are created with them,
        for example V(mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us).
    type: list
    elements: str
    default: []
  paths:
    description:
      - Absolute host paths to stat (symbolic links are followed).
    type: list
    elements: str
    default: []
  label:
    description:
      - The label that marks the containers to return; a container is returned when it carries this label with the value V(true).
    type: str
    default: onprem.speech.managed
  timeout:
    description:
      - Seconds to wait for each answer from the Docker engine. Must be at least 1.
    type: int
    default: 30
extends_documentation_fragment:
  - onprem.speech.attributes
  - onprem.speech.docker_host
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - This action does not modify state. The throwaway container that reads an image's users is created and removed in check mode too.
notes:
  - C(containers[].status) is Docker's own text (C(Up 3 minutes), C(Exited (1) 2 seconds ago)); test C(state) or C(running) instead.
  - When C(engine.error) is set although C(engine.answers) is V(true), the engine stopped answering midway and the lists may be incomplete.
seealso:
  - module: onprem.speech.host_facts
  - module: onprem.speech.readiness
  - module: community.docker.docker_container_info
  - module: community.docker.docker_image_info
"""

EXAMPLES = r"""
---
- name: Read the host's speech containers, the planned images and the directories they mount
  onprem.speech.speech_info:
    images:
      - mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us
      - mcr.microsoft.com/azure-cognitive-services/speechservices/neural-text-to-speech:4.1.0-amd64-en-us-arianeural
    paths:
      - /var/lib/onprem-speech/stt-en-us/output
  register: speech_state

- name: Stop when the engine does not answer
  ansible.builtin.assert:
    that: speech_state.engine.answers
    fail_msg: "Docker on {{ inventory_hostname }}: {{ speech_state.engine.error }}"

- name: Create the output directory owned by the image's user
  ansible.builtin.file:
    path: /var/lib/onprem-speech/stt-en-us/output
    state: directory
    owner: "{{ speech_state.images[stt_image].uid }}"
    group: "{{ speech_state.images[stt_image].gid }}"
    mode: "0755"
  vars:
    stt_image: mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us
"""

RETURN = r"""
engine:
  description: The Docker engine.
  returned: always
  type: dict
  contains:
    answers:
      description: Whether the engine answered on O(docker_host).
      returned: always
      type: bool
      sample: true
    version:
      description: The engine's version, or V(null) when it does not answer.
      returned: always
      type: str
      sample: 20.10.24+dfsg1
    api_version:
      description: The engine's API version, or V(null) when it does not answer.
      returned: always
      type: str
      sample: "1.41"
    error:
      description: Why the engine did not answer (or stopped answering midway), or V(null).
      returned: always
      type: str
      sample: socket /var/run/docker.sock not found
containers:
  description:
    - Every container, running or not, that carries O(label) with the value V(true), sorted by name.
    - Empty when the engine does not answer.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The container's name, without the leading slash.
      type: str
      returned: always
      sample: speech-stt-en-us
    id:
      description: The container's ID.
      type: str
      returned: always
      sample: 4f1c0e0a9b2d7c1e5f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e
    image:
      description: The image reference the container was created with (C(Config.Image)).
      type: str
      returned: always
      sample: mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us
    image_id:
      description: The ID of the image the container runs.
      type: str
      returned: always
      sample: sha256:5b2a6c1e0f9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b
    state:
      description: The container's state as Docker names it.
      type: str
      returned: always
      sample: running
      choices: [created, running, paused, restarting, removing, exited, dead]
    running:
      description: Whether the container runs.
      type: bool
      returned: always
      sample: true
    status:
      description: Docker's text about the state.
      type: str
      returned: always
      sample: Up 3 minutes
    restart_count:
      description: How often Docker restarted the container (its restart policy).
      type: int
      returned: always
      sample: 0
    exit_code:
      description: The exit code of the container's last run (0 while it runs).
      type: int
      returned: always
      sample: 0
    oom_killed:
      description: Whether the kernel killed the container's last run for want of memory.
      type: bool
      returned: always
      sample: false
    started_at:
      description: When the container last started, as Docker gives it.
      type: str
      returned: always
      sample: "2026-01-12T09:14:03.118392441Z"
    labels:
      description: All the container's labels.
      type: dict
      returned: always
      sample: {"onprem.speech.managed": "true", "onprem.speech.kind": "stt", "onprem.speech.spec-hash": "9f2c41d0a7b3e615"}
    kind:
      description: The C(onprem.speech.kind) label, or V(null).
      type: str
      returned: always
      sample: stt
    spec_hash:
      description: The C(onprem.speech.spec-hash) label, or V(null).
      type: str
      returned: always
      sample: 9f2c41d0a7b3e615
    spec:
      description: The C(onprem.speech.spec) label's JSON, parsed; V(null) when it is missing or not a JSON object.
      type: dict
      returned: always
      sample: {"name": "speech-stt-en-us", "kind": "stt", "host_port": 5000}
    limits:
      description:
        - The limits C(docker update) can change in place, as the engine has them (C(nano_cpus), C(memory) in bytes; 0 is no limit),
          so a change made outside the collection is seen; V(null) when the container could not be inspected.
      type: dict
      returned: always
      sample: {"nano_cpus": 250000000, "memory": 268435456}
    published_ports:
      description:
        - The container's published ports; the live bindings of a running container, the configured ones of a stopped one.
      type: list
      elements: dict
      returned: always
      contains:
        host_ip:
          description: The host address, V("") for all addresses.
          type: str
          returned: always
          sample: 0.0.0.0
        host_port:
          description: The host port (V(null) when Docker picks one at start).
          type: int
          returned: always
          sample: 5000
        container_port:
          description: The container's port.
          type: int
          returned: always
          sample: 5000
        protocol:
          description: V(tcp) or V(udp).
          type: str
          returned: always
          sample: tcp
images:
  description: One entry per reference of O(images), keyed by the reference as given.
  returned: always
  type: dict
  sample:
    mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us:
      present: true
      id: sha256:5b2a6c1e0f9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b
      repo_digests:
        - mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text@sha256:0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e
      digest: sha256:0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e
      user: nonroot
      uid: 65532
      gid: 65532
      ids_from: image
      user_error: null
      created: "2025-11-20T17:02:11.51234Z"
      size: 6123456789
  contains:
    present:
      description: Whether the engine has the image.
      type: bool
      returned: always
    id:
      description: The image ID, or V(null).
      type: str
      returned: always
    repo_digests:
      description: The image's repository digests (C(repository@sha256:...)).
      type: list
      elements: str
      returned: always
    digest:
      description: The repository digest (V(sha256:...)) of the reference's own repository, or V(null) (an image built or loaded locally has none).
      type: str
      returned: always
    user:
      description: The image's C(Config.User), V("") for root; V(null) when the image is not present.
      type: str
      returned: always
    uid:
      description: The uid the image runs as, or V(null) when it could not be told (see RV(images.user_error)).
      type: int
      returned: always
    gid:
      description: The gid the image runs as, or V(null) when it could not be told.
      type: int
      returned: always
    ids_from:
      description:
        - Where RV(images.uid) and RV(images.gid) come from, V(null) when unresolved.
        - V(default) is an empty C(Config.User) (root), V(config) numbers in C(Config.User), V(image) the image's C(/etc/passwd) or C(/etc/group).
      type: str
      returned: always
      choices: [default, config, image]
    user_error:
      description: Why the uid or gid could not be resolved, or V(null).
      type: str
      returned: always
    created:
      description: When the image was built.
      type: str
      returned: always
    size:
      description: The image's size in bytes.
      type: int
      returned: always
paths:
  description: One entry per path of O(paths), keyed by the path as given.
  returned: always
  type: dict
  sample:
    /var/lib/onprem-speech/stt-en-us/output:
      exists: true
      isdir: true
      uid: 65532
      gid: 65532
      mode: "0755"
  contains:
    exists:
      description: Whether the path exists (following symbolic links).
      type: bool
      returned: always
    isdir:
      description: Whether it is a directory.
      type: bool
      returned: always
    uid:
      description: The owner's uid, or V(null).
      type: int
      returned: always
    gid:
      description: The group's gid, or V(null).
      type: int
      returned: always
    mode:
      description: The permission bits as an octal string, or V(null).
      type: str
      returned: always
    error:
      description: Why the path could not be examined, when that is not because it is missing (for example a parent without search permission).
      type: str
      returned: when the path could not be examined
python_requests:
  description:
    - Whether the Python this module ran with can import C(requests), which the C(community.docker) modules need on the host.
  returned: always
  type: bool
  sample: true
host_state:
  description:
    - What the collection keeps on the host about its own runs, in its root-only state directory.
  returned: always
  type: dict
  contains:
    lock:
      description: The run that holds the host's lock (C(controller), C(user), C(pid), C(started_at), C(playbook), C(run)), or V(null).
      type: dict
      returned: always
    ready:
      description: Per container name, the container last proven ready (C(id), C(at), C(run)).
      type: dict
      returned: always
    guards:
      description: The armed guards (C(run), C(armed_at), C(deadline), C(items)).
      type: list
      elements: dict
      returned: always
    journal:
      description: The journal's last entries, oldest first (C(at), C(by), C(run), what changed and why, the result); no secret.
      type: list
      elements: dict
      returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.speech.plugins.module_utils import container_state
from ansible_collections.onprem.speech.plugins.module_utils.docker_socket import DockerClient, parse_docker_host


def main():
    module = AnsibleModule(
        argument_spec=dict(
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            images=dict(type="list", elements="str", default=[]),
            paths=dict(type="list", elements="str", default=[]),
            label=dict(type="str", default="onprem.speech.managed"),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params

    problems = []
    try:
        parse_docker_host(params["docker_host"])
    except ValueError as error:
        problems.append(str(error))
    if params["timeout"] < 1:
        problems.append("timeout %s: give a number of seconds, at least 1" % params["timeout"])
    if not (params["label"] or "").strip():
        problems.append("label: give the label that marks the managed containers, e.g. onprem.speech.managed")
    relative = [path for path in params["paths"] if not path.startswith("/")]
    if relative:
        problems.append("paths: %s %s not absolute; give absolute host paths" % (", ".join(relative), "is" if len(relative) == 1 else "are"))
    empty = [ref for ref in params["images"] if not ref.strip()]
    if empty:
        problems.append("images: an empty image reference; give references like mcr.microsoft.com/<repository>:<tag>")
    if problems:
        module.fail_json(msg="; ".join(problems))

    client = DockerClient(params["docker_host"], params["timeout"])
    result = container_state.gather(client, images=params["images"], paths=params["paths"], label=params["label"].strip())
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
