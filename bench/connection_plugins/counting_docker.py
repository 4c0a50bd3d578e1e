# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""community.docker.docker, counting module runs (for bench/noop.py and bench/fleet.py only).

Every exec that runs an AnsiballZ module (pipelined on stdin, or the uploaded
file) is one module call; the tmp-dir, chmod and cleanup execs around a
non-pipelined call are not. Each call appends "<host> <module>" to the file
named by ONPREM_SPEECH_BENCH_CALLS."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.community.docker.plugins.connection import docker as upstream

DOCUMENTATION = upstream.DOCUMENTATION.replace("name: docker", "name: counting_docker", 1)

MODULE_FILE = re.compile(r"AnsiballZ_(\w+)\.py")
# The pipelined wrapper names the module it carries (ansible.modules.<name> or ansible_collections.<ns>.<coll>.plugins.modules.<name>).
MODULE_IN_PAYLOAD = re.compile(rb"(?:ansible\.modules|plugins\.modules)\.(\w+)")


class Connection(upstream.Connection):
    transport = "counting_docker"

    def exec_command(self, cmd, in_data=None, sudoable=False):
        text = cmd if isinstance(cmd, str) else cmd.decode("utf-8", "replace")
        found = MODULE_FILE.search(text)
        if in_data is not None or (found and "chmod " not in text and "rm -f -r" not in text):
            target = os.environ.get("ONPREM_SPEECH_BENCH_CALLS")
            if target:
                name = found.group(1) if found else "pipelined"
                if in_data is not None:
                    named = MODULE_IN_PAYLOAD.search(in_data if isinstance(in_data, bytes) else in_data.encode("utf-8"))
                    name = named.group(1).decode("ascii") if named else name
                with open(target, "a") as fh:
                    fh.write("%s %s\n" % (self.get_option("remote_addr"), name))
                if os.environ.get("ONPREM_SPEECH_BENCH_DEBUG"):
                    with open(target + ".cmds", "a") as fh:
                        fh.write("%r\n" % text[:300])
        return super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
