# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's CPU seconds (for bench/fleet.py only).

At the end of a run, writes to the file named by ONPREM_SPEECH_BENCH_CPU, as JSON, the CPU
seconds (user + system) of ansible-playbook's main process. The main process runs every host's
task queueing, variables and results by itself: its seconds are what no number of cores or hosts
makes shorter. bench/fleet.py takes the whole controller's (the workers and their `docker exec`
clients too) from wait4."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: cpu_seconds
type: aggregate
short_description: Write the controller's CPU seconds at the end of a run (bench only)
description:
  - Writes the main process's CPU seconds to the file named by E(ONPREM_SPEECH_BENCH_CPU).
"""

import json
import os
import resource

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "cpu_seconds"
    CALLBACK_NEEDS_ENABLED = False

    def v2_playbook_on_stats(self, stats):
        target = os.environ.get("ONPREM_SPEECH_BENCH_CPU")
        if not target:
            return
        main = resource.getrusage(resource.RUSAGE_SELF)
        with open(target, "w") as fh:
            json.dump({"main": main.ru_utime + main.ru_stime}, fh)
