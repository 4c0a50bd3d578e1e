#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gateway_runtime
short_description: Drain, enable or list a speech gateway's servers through HAProxy's runtime API
version_added: 0.2.0
description:
  - Talks to HAProxy's stats socket (its runtime API), with the Python standard library only.
  - O(action=drain) puts each server of O(servers) in DRAIN (no new sessions; running ones go on), waits until none of them has a
    session left or O(timeout) seconds passed, then puts them in MAINT, so the host behind them can be upgraded without a
    request dropped. Sessions still running at the bound are reported (they end when the host's containers stop).
  - O(action=enable) puts each server in READY and waits until the health checks say UP (the container answers C(/ready) and
    C(/status)) or O(timeout) seconds passed; the module fails, naming each server and its state, when one is not UP by then.
  - O(action=servers) changes nothing and lists every server with its state and sessions.
author:
  - onprem.speech maintainers (@onprem)
options:
  action:
    description: What to do.
    type: str
    choices: [drain, enable, servers]
    default: servers
  servers:
    description: The servers to drain or enable, each C(backend) and C(server) (the names in the gateway's configuration).
    type: list
    elements: dict
    default: []
  socket:
    description: HAProxy's stats socket (C(stats socket ... level admin) in its configuration).
    type: path
    default: /run/haproxy/admin.sock
  timeout:
    description: The bound, in seconds, on waiting for sessions to end (drain) or for the checks to say UP (enable).
    type: int
    default: 60
  interval:
    description: Seconds between two looks at the servers' state while waiting.
    type: float
    default: 1.0
extends_documentation_fragment:
  - onprem.speech.attributes
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - In check mode nothing is sent but C(show stat); drain and enable are reported as changes.
seealso:
  - module: community.general.haproxy
"""

EXAMPLES = r"""
---
- name: Take speech-01 out of every gateway route, waiting up to 5 minutes for its sessions to end
  onprem.speech.gateway_runtime:
    action: drain
    servers:
      - {backend: speech_stt_en-US, server: speech-01}
      - {backend: speech_ntts_en-US-AriaNeural, server: speech-01}
    timeout: 300
  delegate_to: gateway-01

- name: Put it back once its containers are ready
  onprem.speech.gateway_runtime:
    action: enable
    servers:
      - {backend: speech_stt_en-US, server: speech-01}
    timeout: 60
  delegate_to: gateway-01
"""

RETURN = r"""
waited:
  description: Seconds spent waiting (drain, enable).
  returned: when action is drain or enable
  type: float
  sample: 3.0
sessions_left:
  description: Sessions still running on the drained servers when the bound was reached (0 when they all ended).
  returned: when action is drain
  type: int
  sample: 0
servers:
  description: Every server HAProxy knows, with its state and sessions (action servers), or the servers given.
  returned: always
  type: list
  elements: dict
  sample: [{"backend": "speech_stt_en-US", "server": "speech-01", "status": "UP", "sessions": 1, "total": 42,
            "check": "L7OK", "address": "172.30.0.41:5000"}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.speech.plugins.module_utils import haproxy_runtime as rt


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", choices=["drain", "enable", "servers"], default="servers"),
            servers=dict(type="list", elements="dict", default=[]),
            socket=dict(type="path", default="/run/haproxy/admin.sock"),
            timeout=dict(type="int", default=60),
            interval=dict(type="float", default=1.0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = []
    pairs = []
    for index, item in enumerate(params["servers"]):
        if not item.get("backend") or not item.get("server"):
            problems.append("servers[%d]: give backend and server" % index)
        else:
            pairs.append((str(item["backend"]), str(item["server"])))
    if params["action"] != "servers" and not pairs:
        problems.append("servers: give at least one server to %s" % params["action"])
    if params["timeout"] < 0:
        problems.append("timeout: %d; give seconds, 0 or more" % params["timeout"])
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        if params["action"] == "servers":
            module.exit_json(changed=False, servers=rt.servers(params["socket"]))
        given = set(pairs)
        if module.check_mode:
            # A gateway that a check run would only now set up has no socket yet: the change is still predicted.
            try:
                listed = [s for s in rt.servers(params["socket"]) if (s["backend"], s["server"]) in given]
            except rt.GatewayError:
                listed = []
            module.exit_json(changed=True, servers=listed, waited=0.0, sessions_left=0)
        if params["action"] == "drain":
            waited, left = rt.drain(params["socket"], pairs, params["timeout"], params["interval"])
            listed = [s for s in rt.servers(params["socket"]) if (s["backend"], s["server"]) in given]
            module.exit_json(changed=True, servers=listed, waited=waited, sessions_left=left)
        waited, down = rt.enable(params["socket"], pairs, params["timeout"], params["interval"])
        listed = [s for s in rt.servers(params["socket"]) if (s["backend"], s["server"]) in given]
        if down:
            module.fail_json(msg="not UP after %s s (the health checks ask /ready and /status): %s"
                             % (waited, ", ".join("%s is %s" % item for item in sorted(down.items()))), servers=listed, waited=waited)
        module.exit_json(changed=True, servers=listed, waited=waited)
    except rt.GatewayError as error:
        module.fail_json(msg=str(error))


if __name__ == "__main__":
    main()
