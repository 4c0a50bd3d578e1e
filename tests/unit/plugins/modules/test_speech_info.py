"""speech_info main() against a fake Docker engine on a unix socket, and once against the machine's real engine."""

import json
import os
from urllib.parse import quote

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import container_state as cs
from ansible_collections.onprem.speech.plugins.module_utils.docker_socket import DockerClient, DockerSocketError
from ansible_collections.onprem.speech.plugins.modules import speech_info
from unit_helpers import load_fixture_module, patch_module_args  # noqa: E402  pylint: disable=import-error


fake = load_fixture_module("fake_engine")

STT_IMAGE = "mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us"
TTS_IMAGE = "mcr.microsoft.com/azure-cognitive-services/speechservices/neural-text-to-speech:4.1.0-amd64-en-us-arianeural"
LID_IMAGE = "mcr.microsoft.com/azure-cognitive-services/speechservices/language-detection:1.18.0-amd64-preview"
CSTT_IMAGE = "mcr.microsoft.com/azure-cognitive-services/speechservices/custom-speech-to-text:5.1.0-amd64"
PASSWD = b"root:x:0:0:root:/root:/bin/bash\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
REAL_SOCKET = "/var/run/docker.sock"
THROWAWAYS = "/containers/json?all=1&filters=%s" % quote(json.dumps({"label": [cs.THROWAWAY_LABEL]}), safe="")
CONTAINER_KEYS = {"name", "id", "image", "image_id", "state", "running", "status", "restart_count", "exit_code", "oom_killed", "started_at",
                  "labels", "kind", "spec_hash", "spec", "published_ports", "limits"}
IMAGE_KEYS = {"present", "id", "repo_digests", "digest", "user", "uid", "gid", "ids_from", "user_error", "created", "size"}


@pytest.fixture
def engine(tmp_path):
    path = str(tmp_path / "docker.sock")
    server, state = fake.start(path)
    state.socket = path
    digest = "mcr.microsoft.com/azure-cognitive-services/speechservices/%s@sha256:" + "0d" * 32
    # A named user (read from the image), a bare uid, numbers in Config.User, and root.
    state.add_image([STT_IMAGE], fake.image("sha256:" + "51" * 32, "nonroot", [digest % "speech-to-text"]), {"/etc/passwd": PASSWD})
    state.add_image([TTS_IMAGE], fake.image("sha256:" + "52" * 32, "65532", [digest % "neural-text-to-speech"]), {"/etc/passwd": PASSWD})
    state.add_image([CSTT_IMAGE], fake.image("sha256:" + "53" * 32, "65532:65532", [digest % "custom-speech-to-text"]))
    state.add_image([LID_IMAGE], fake.image("sha256:" + "54" * 32, ""))
    yield state
    fake.stop(server)


def run(args, capsys):
    """main() with these arguments; (exit code, parsed result)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            speech_info.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_one_call_returns_containers_images_and_paths(engine, tmp_path, capsys):
    out_dir = tmp_path / "stt" / "output"
    out_dir.mkdir(parents=True)
    os.chmod(str(out_dir), 0o755)
    code, out = run({"docker_host": "unix://" + engine.socket, "images": [STT_IMAGE, TTS_IMAGE, CSTT_IMAGE, LID_IMAGE, "mcr.microsoft.com/nope:1"],
                     "paths": [str(out_dir), str(tmp_path / "missing")]}, capsys)
    assert code == 0
    assert out["changed"] is False
    assert out["engine"]["answers"] is True and out["engine"]["version"] == "20.10.24+dfsg1" and out["engine"]["error"] is None

    assert [c["name"] for c in out["containers"]] == ["speech-stt-en-us", "speech-tts-aria"]
    for container in out["containers"]:
        assert set(container) == CONTAINER_KEYS
    stt, tts = out["containers"]
    assert stt["running"] is True and stt["state"] == "running" and stt["kind"] == "stt" and stt["spec"]["locale"] == "en-US"
    assert stt["published_ports"] == [{"host_ip": "127.0.0.1", "host_port": 15900, "container_port": 5000, "protocol": "tcp"}]
    assert tts["running"] is False and tts["state"] == "exited" and tts["exit_code"] == 1 and tts["kind"] == "ntts"

    images = out["images"]
    assert set(images) == {STT_IMAGE, TTS_IMAGE, CSTT_IMAGE, LID_IMAGE, "mcr.microsoft.com/nope:1"}
    for entry in images.values():
        assert set(entry) == IMAGE_KEYS
    assert (images[STT_IMAGE]["uid"], images[STT_IMAGE]["gid"], images[STT_IMAGE]["ids_from"]) == (65532, 65532, "image")
    assert images[STT_IMAGE]["digest"] == "sha256:" + "0d" * 32
    assert (images[TTS_IMAGE]["uid"], images[TTS_IMAGE]["gid"], images[TTS_IMAGE]["ids_from"]) == (65532, 65532, "image")
    assert (images[CSTT_IMAGE]["uid"], images[CSTT_IMAGE]["gid"], images[CSTT_IMAGE]["ids_from"]) == (65532, 65532, "config")
    assert (images[LID_IMAGE]["uid"], images[LID_IMAGE]["gid"], images[LID_IMAGE]["ids_from"]) == (0, 0, "default")
    assert images["mcr.microsoft.com/nope:1"]["present"] is False and images["mcr.microsoft.com/nope:1"]["uid"] is None

    assert out["paths"][str(out_dir)] == {"exists": True, "isdir": True, "uid": os.getuid(), "gid": out_dir.stat().st_gid, "mode": "0755"}
    assert out["paths"][str(tmp_path / "missing")]["exists"] is False

    # Two images needed their files: two throwaway containers, both removed.
    assert len(engine.created) == 2 and engine.alive() == []
    assert all(name.startswith(cs.THROWAWAY_PREFIX) for name in engine.create_names)


def test_check_mode_reads_the_same_and_cleans_up(engine, capsys):
    code, out = run({"docker_host": "unix://" + engine.socket, "images": [STT_IMAGE], "_ansible_check_mode": True}, capsys)
    assert code == 0 and out["changed"] is False
    assert out["images"][STT_IMAGE]["uid"] == 65532
    assert len(engine.created) == 1 and engine.alive() == []


def test_throwaway_removed_even_when_reading_fails(engine, capsys):
    engine.fail_archive = 500
    code, out = run({"docker_host": "unix://" + engine.socket, "images": [STT_IMAGE]}, capsys)
    assert code == 0
    entry = out["images"][STT_IMAGE]
    assert entry["present"] is True and entry["uid"] is None and entry["gid"] is None
    assert "HTTP 500" in entry["user_error"]
    assert len(engine.created) == 1 and engine.alive() == []


def test_engine_not_answering_is_not_a_failure(tmp_path, capsys):
    code, out = run({"docker_host": "unix://" + str(tmp_path / "docker.sock"), "images": [STT_IMAGE], "paths": [str(tmp_path)]}, capsys)
    assert code == 0
    assert out["engine"] == {"answers": False, "version": None, "api_version": None, "error": "socket %s not found" % (tmp_path / "docker.sock")}
    assert out["containers"] == []
    assert out["images"][STT_IMAGE]["present"] is False
    assert out["paths"][str(tmp_path)]["exists"] is True


def test_engine_hanging_up_midway_reports_the_error(engine, capsys):
    engine.hang_up_on = "/images/"
    code, out = run({"docker_host": "unix://" + engine.socket, "images": [STT_IMAGE]}, capsys)
    assert code == 0
    assert out["engine"]["answers"] is True and "cannot talk to" in out["engine"]["error"]
    assert len(out["containers"]) == 2
    assert out["images"][STT_IMAGE]["present"] is False


def test_custom_label(engine, capsys):
    engine.containers[0]["Labels"]["com.example.speech"] = "true"
    code, out = run({"docker_host": "unix://" + engine.socket, "label": "com.example.speech"}, capsys)
    assert code == 0
    assert [c["name"] for c in out["containers"]] == [engine.containers[0]["Names"][0].lstrip("/")]


@pytest.mark.parametrize("args, words", [
    ({"docker_host": "ssh://admin@host"}, ["docker_host 'ssh://admin@host'"]),
    ({"timeout": 0}, ["timeout 0: give a number of seconds, at least 1"]),
    ({"paths": ["relative/dir", "/abs"]}, ["paths: relative/dir is not absolute"]),
    ({"label": " "}, ["label: give the label"]),
    ({"images": [""], "timeout": -2}, ["images: an empty image reference", "timeout -2"]),
    ({"images": "notalist", "docker_socket": "/x"}, ["docker_socket"]),
])
def test_bad_arguments_fail(args, words, capsys):
    code, out = run(args, capsys)
    assert code == 1 and out["failed"] is True
    for word in words:
        assert word in out["msg"]


# ------------------------------------------------------------------ the machine's real engine

def real_engine():
    if not os.path.exists(REAL_SOCKET):
        return None
    client = DockerClient("unix://" + REAL_SOCKET, 10)
    try:
        client.get_json("/version")
    except DockerSocketError:
        return None
    return client


@pytest.mark.skipif(real_engine() is None, reason="no Docker engine answers on %s" % REAL_SOCKET)
def test_real_engine_inspects_a_local_image(capsys):
    client = real_engine()
    tagged = [image for image in client.get_json("/images/json") if [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]]
    if not tagged:
        pytest.skip("the engine has no tagged image")
    reference = sorted(t for t in tagged[0]["RepoTags"] if t != "<none>:<none>")[0]
    before = set(c["Id"] for c in client.get_json(THROWAWAYS))
    code, out = run({"images": [reference, "localhost/onprem-speech/not-there:0"], "paths": ["/"]}, capsys)
    assert code == 0
    assert out["engine"]["answers"] is True and out["engine"]["version"]
    entry = out["images"][reference]
    assert entry["present"] is True and entry["id"] == tagged[0]["Id"]
    assert entry["uid"] is not None or entry["user_error"]
    assert out["images"]["localhost/onprem-speech/not-there:0"]["present"] is False
    assert out["paths"]["/"]["isdir"] is True
    assert all(c["labels"].get("onprem.speech.managed") == "true" for c in out["containers"])
    # Read a real /etc/passwd out of the first local image that has one; no throwaway container stays behind.
    found = None
    for image in tagged[:6]:
        texts = cs.read_image_files(client, image["Id"], ["/etc/passwd"])
        if texts["/etc/passwd"]:
            found = texts["/etc/passwd"]
            break
    after = set(c["Id"] for c in client.get_json(THROWAWAYS))
    assert after <= before
    if found is None:
        pytest.skip("no local image has an /etc/passwd")
    assert cs.resolve_ids("root", found) == (0, 0, None)
