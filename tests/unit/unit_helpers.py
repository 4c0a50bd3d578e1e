"""What several unit test files share: driving a module's main() with arguments,
and the fakes under tests/unit/fixtures/speech (loaded from their files, as they
are not a package)."""

import contextlib
import importlib.util
import json
from pathlib import Path
from unittest import mock

FIXTURES = Path(__file__).resolve().parent / "fixtures"

try:
    from ansible.module_utils.testing import patch_module_args as _patch_args
except ImportError:  # ansible-core before 2.19
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def _patch_args(args=None):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))):
            yield


@contextlib.contextmanager
def patch_module_args(args=None):
    """Run a module's main() with these arguments, as a target runs it. Importing any of the controller's code (a
    filter test's plugins/filter import ansible.errors) marks pytest's whole process as the controller in ansible-core
    2.19, and a module's warnings would then go to the controller's display instead of into its result."""
    from ansible.module_utils import _internal  # pylint: disable=import-outside-toplevel
    target = mock.patch.object(_internal, "is_controller", False) if hasattr(_internal, "is_controller") else contextlib.nullcontext()
    with _patch_args(args), target:
        yield


def load_fixture_module(name):
    """tests/unit/fixtures/speech/<name>.py as a module."""
    spec = importlib.util.spec_from_file_location(name, str(FIXTURES / "speech" / ("%s.py" % name)))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fake_speech = load_fixture_module("fake_speech")


@contextlib.contextmanager
def fake_containers():
    """make(**behaviour) -> (behaviour, port) of a running fake speech container; all stopped on exit."""
    servers = []

    def make(**kwargs):
        behaviour = fake_speech.Behaviour(**kwargs)
        server, port = fake_speech.start(behaviour)
        servers.append(server)
        return behaviour, port

    try:
        yield make
    finally:
        for server in servers:
            fake_speech.stop(server)
