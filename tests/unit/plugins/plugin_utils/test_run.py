"""Who a run is (plugin_utils/run.py): the host's lock, journal and guard name it."""

import os
import subprocess
import sys

from ansible_collections.onprem.speech.plugins.plugin_utils import run


def test_a_run_is_its_controller_process_and_start():
    info = run.run_info()
    assert info["pid"] == os.getpid() and info["run"].startswith("%s:%d:" % (info["controller"], os.getpid()))
    assert info["started_at"].endswith("Z") and info["user"]


def test_a_holder_whose_process_is_gone_or_reused_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    ticks = run._start_ticks(child.pid)
    child.wait()
    assert run.process_alive(child.pid, ticks) is False
    me = run._start_ticks(os.getpid())
    assert run.process_alive(os.getpid(), me) is True
    # The same pid with another start is another process.
    assert run.process_alive(os.getpid(), (me or 0) + 1) is False
