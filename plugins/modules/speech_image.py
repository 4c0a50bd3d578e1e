#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: speech_image
short_description: Make a host's speech container images present, as an image policy says
version_added: 0.2.0
description:
  - Talks to the Docker engine's API socket with the Python standard library only; neither the C(docker) command nor the Docker SDK is needed.
  - Each image has a policy. V(missing) pulls it only when the host does not have it. V(always) asks the registry for the tag's digest
    and pulls when it moved (a container is then recreated by the role, as its image changed). V(pinned) is for references by digest
    (C(repo@sha256:...)), exactly that content is pulled, whatever the tag now points to.
  - The registry password goes with each request (the engine's C(X-Registry-Auth) header) and is checked with the registry first
    (C(POST /auth)); nothing is stored on the host, so a wrong password is named as a 401 even where an older login is stored.
  - A permanent error (no such image or tag, 401 or 403, an untrusted certificate) fails at once; only transient errors
    (timeouts, resets, 5xx, 429) are retried.
  - With O(source=load), the images come from a C(docker save) archive already on the host, which is removed afterwards when O(remove_archive) is set.
author:
  - onprem.speech maintainers (@onprem)
options:
  images:
    description: The images, each with its reference and policy.
    type: list
    elements: dict
    required: true
    suboptions:
      ref:
        description: The image reference as containers are created with it.
        type: str
        required: true
      policy:
        description: V(missing), V(always) or V(pinned).
        type: str
        default: missing
        choices: [missing, always, pinned]
  source:
    description: Where missing images come from.
    type: str
    default: pull
    choices: [pull, load, present]
  archive:
    description: For O(source=load), the path of the C(docker save) archive on the host.
    type: path
  remove_archive:
    description: Remove O(archive) after loading it.
    type: bool
    default: true
  registry:
    description: The registry's host and port, for the login (C(mirror.example.com:5443)).
    type: str
    default: ""
  registry_username:
    description: A user for the registry; empty for anonymous pulls.
    type: str
    default: ""
  registry_password:
    description: Its password. Never returned.
    type: str
    default: ""
  retries:
    description: How often a pull is tried again after a transient error.
    type: int
    default: 5
  delay:
    description: Seconds between those tries.
    type: int
    default: 10
  timeout:
    description: Seconds to wait for each answer from the Docker engine but pulls and loads (which may take long).
    type: int
    default: 60
extends_documentation_fragment:
  - onprem.speech.attributes
  - onprem.speech.docker_host
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - In check mode the host's images are inspected and, for V(always), the registry is asked for digests; nothing is pulled or loaded.
notes:
  - Use the task keyword C(no_log) on tasks that pass O(registry_password); the module removes it from its own messages.
seealso:
  - module: onprem.speech.speech_info
  - module: onprem.speech.speech_container
"""

EXAMPLES = r"""
---
- name: Pull what is missing from a private mirror
  onprem.speech.speech_image:
    images:
      - ref: mirror.example.com:5443/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us
    registry: mirror.example.com:5443
    registry_username: puller
    registry_password: "{{ vault_mirror_password }}"
  no_log: true

- name: Follow re-pushed tags
  onprem.speech.speech_image:
    images:
      - ref: mcr.microsoft.com/azure-cognitive-services/speechservices/neural-text-to-speech:4.1.0-amd64-en-us-arianeural
        policy: always
"""

RETURN = r"""
changes:
  description: One line per image that was (or, in check mode, would be) pulled or loaded, with its digest.
  returned: always
  type: list
  elements: str
  sample: ["mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us: pulled sha256:0d1e2f3a4b5c"]
images:
  description: One entry per reference of O(images).
  returned: always
  type: dict
  sample:
    mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us:
      present: true
      id: sha256:5b2a6c1e0f9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b
      digest: sha256:0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e
      remote_digest: null
      action: pulled
      policy: missing
  contains:
    present:
      description: Whether the host has the image now.
      type: bool
      returned: always
    id:
      description: The image ID.
      type: str
      returned: always
    digest:
      description: The image's repository digest, V(null) for an image that was loaded or built.
      type: str
      returned: always
    remote_digest:
      description: For V(always), the digest the registry publishes now.
      type: str
      returned: always
    action:
      description: V(present), V(pulled), V(updated) (a newer digest), V(loaded), V(would pull), V(would load).
      type: str
      returned: always
    policy:
      description: The image's policy.
      type: str
      returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.speech.plugins.module_utils import image_ops
from ansible_collections.onprem.speech.plugins.module_utils.docker_socket import DockerClient, parse_docker_host


def main():
    module = AnsibleModule(
        argument_spec=dict(
            images=dict(type="list", elements="dict", required=True, options=dict(
                ref=dict(type="str", required=True),
                policy=dict(type="str", default="missing", choices=["missing", "always", "pinned"]),
            )),
            source=dict(type="str", default="pull", choices=["pull", "load", "present"]),
            archive=dict(type="path"),
            remove_archive=dict(type="bool", default=True),
            registry=dict(type="str", default=""),
            registry_username=dict(type="str", default=""),
            registry_password=dict(type="str", default="", no_log=True),
            retries=dict(type="int", default=5),
            delay=dict(type="int", default=10),
            timeout=dict(type="int", default=60),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
        ),
        required_if=[("source", "load", ("archive",))],
        supports_check_mode=True,
    )
    params = module.params
    problems = []
    try:
        parse_docker_host(params["docker_host"])
    except ValueError as error:
        problems.append(str(error))
    if params["retries"] < 0 or params["delay"] < 0:
        problems.append("retries and delay: give 0 or more")
    if bool(params["registry_username"]) != bool(params["registry_password"]):
        problems.append("registry_username and registry_password: give both or neither")
    if problems:
        module.fail_json(msg="; ".join(problems))

    client = DockerClient(params["docker_host"], params["timeout"])
    registry = image_ops.Registry(params["registry"], params["registry_username"], params["registry_password"])
    try:
        images = image_ops.ensure(client, params["images"], registry, params["source"], params["archive"], params["retries"],
                                  params["delay"], module.check_mode)
    except image_ops.ImageError as error:
        module.fail_json(msg=image_ops.redact(str(error), registry.secrets()), image=error.ref)
    if params["source"] == "load" and params["remove_archive"] and not module.check_mode and params["archive"] and os.path.exists(params["archive"]):
        os.remove(params["archive"])
    changes = ["%s: %s%s" % (ref, entry["action"], (" " + entry["digest"]) if entry.get("digest") else "")
               for ref, entry in sorted(images.items()) if entry["action"] != "present"]
    module.exit_json(changed=bool(changes), images=images, changes=changes)


if __name__ == "__main__":
    main()
