"""Fixtures of the emulator's tests (the harness is emulator_harness.py)."""

import os

import pytest

from emulator_harness import ALL_KEYS, Billing, Proc, Speech, free_port


@pytest.fixture
def billing(tmp_path):
    service = Billing(tmp_path)
    yield service
    service.proc.stop()
    assert not any(key in service.proc.stdout for key in ALL_KEYS), "billing printed a key"


@pytest.fixture
def launch(tmp_path):
    """launch(kind, *args, env=..., as_user=...) -> Speech; every process is stopped and checked for keys at the end."""
    started = []
    models = tmp_path / "stt-models"
    models.mkdir()
    (models / "properties.json").write_text('{"locale": "en-US"}')

    def _launch(kind, *args, env=None, as_user=None, version=None, models_dir=None):
        port = free_port()
        environ = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "EMULATOR_KIND": kind,
            "EMULATOR_IMAGE_VERSION": version or {"ntts": "4.1.0", "lid": "1.18.0"}.get(kind, "5.1.0"),
            "EMULATOR_IMAGE_TAG": "test",
            "EMULATOR_LOCALE": "en-US",
            "EMULATOR_VOICE": "en-US-AriaNeural",
            "EMULATOR_LISTEN_PORT": str(port),
            "EMULATOR_WARMUP_SECONDS": "0.3",
            "EMULATOR_HEARTBEAT_SECONDS": "0.3",
            "EMULATOR_HEARTBEAT_MAX_FAILURES": "2",
            "EMULATOR_MODEL_DOWNLOAD_SECONDS": "1",
            "EMULATOR_MODELS_DIR": str(models_dir or models),
        }
        environ.update(env or {})
        proc = Proc(["serve"] + list(args), environ, tmp_path, "%s-%d" % (kind, port), as_user=as_user)
        started.append(proc)
        return Speech(proc, port)

    yield _launch
    for proc in started:
        proc.stop()
        text = proc.stdout + proc.stderr
        for key in ALL_KEYS:
            assert key not in text, "the emulator printed an API key"
