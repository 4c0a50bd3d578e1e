"""Fixtures of the emulator's tests (the harness is emulator_harness.py)."""

import pytest

from emulator_harness import ALL_KEYS, Billing, Launcher


@pytest.fixture
def billing(tmp_path):
    service = Billing(tmp_path)
    yield service
    service.proc.stop()
    assert not any(key in service.proc.stdout for key in ALL_KEYS), "billing printed a key"


@pytest.fixture
def launch(tmp_path):
    """launch(kind, *args, env=..., as_user=...) -> Speech; every process is stopped and checked for keys at the end."""
    launcher = Launcher(tmp_path)
    yield launcher
    launcher.stop_all()
