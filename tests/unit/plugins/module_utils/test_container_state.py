"""container_state: the pure helpers on captured engine answers, and the engine talk against a fake engine on a unix socket."""

import importlib.util
import json
import os
import socket
from pathlib import Path

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import container_state as cs
from ansible_collections.onprem.speech.plugins.module_utils.docker_socket import DockerClient, DockerSocketError

SPEECH = Path(__file__).resolve().parents[2] / "fixtures" / "speech"
DOCKER = SPEECH / "docker"


def load_module(name):
    spec = importlib.util.spec_from_file_location(name, str(SPEECH / ("%s.py" % name)))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fake = load_module("fake_engine")

STT_IMAGE = "mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us"
TTS_IMAGE = "mcr.microsoft.com/azure-cognitive-services/speechservices/neural-text-to-speech:4.1.0-amd64-en-us-arianeural"
STT_DIGEST = "sha256:" + "0d" * 32
PASSWD = b"root:x:0:0:root:/root:/bin/bash\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\napp:x:1001:2002::/app:/bin/sh\n"
GROUP = b"root:x:0:\nnonroot:x:65532:\nspeech:x:4242:app\n"


@pytest.fixture
def engine(tmp_path):
    path = str(tmp_path / "docker.sock")
    server, state = fake.start(path)
    state.socket = path
    yield state
    fake.stop(server)


def client_for(engine, timeout=5):
    return DockerClient("unix://" + engine.socket, timeout)


# ------------------------------------------------------------------ containers (captured answers)

def captured():
    listed = json.loads((DOCKER / "containers-list.json").read_text())
    return dict((c["Names"][0].lstrip("/"), (c, json.loads((DOCKER / ("inspect-%s.json" % c["Names"][0].lstrip("/"))).read_text())))
                for c in listed)


def test_running_container_summary_from_captured_answers():
    listed, inspect = captured()["speech-stt-en-us"]
    summary = cs.container_summary(listed, inspect)
    assert summary["name"] == "speech-stt-en-us"
    assert summary["id"] == inspect["Id"]
    assert summary["image"] == "localhost/speech-ci/docker-testapp:eedf2997a4de"
    assert summary["image_id"].startswith("sha256:8633151f")
    assert (summary["state"], summary["running"], summary["restart_count"], summary["exit_code"]) == ("running", True, 0, 0)
    assert summary["status"].startswith("Up ")
    assert summary["kind"] == "stt"
    assert summary["spec_hash"] == "0a684ed082510619"
    assert summary["spec"]["name"] == "speech-stt-en-us" and summary["spec"]["host_port"] == 15900
    assert summary["labels"]["onprem.speech.managed"] == "true"
    assert summary["published_ports"] == [{"host_ip": "127.0.0.1", "host_port": 15900, "container_port": 5000, "protocol": "tcp"}]


def test_exited_container_reports_its_configured_ports():
    listed, inspect = captured()["speech-tts-aria"]
    summary = cs.container_summary(listed, inspect)
    assert (summary["state"], summary["running"], summary["exit_code"], summary["oom_killed"]) == ("exited", False, 1, False)
    assert summary["status"].startswith("Exited (1)")
    assert summary["kind"] == "ntts" and summary["spec"]["voice"] == "en-US-AriaNeural"
    # A stopped container has no live bindings; the ones it was created with are reported.
    assert inspect["NetworkSettings"]["Ports"] in ({}, None)
    assert summary["published_ports"] == [{"host_ip": "", "host_port": 15901, "container_port": 5000, "protocol": "tcp"}]


def test_summary_from_the_listing_alone_and_a_broken_spec_label():
    listed, dummy = captured()["speech-stt-en-us"]
    listed = dict(listed, Labels=dict(listed["Labels"], **{"onprem.speech.spec": "{not json"}))
    summary = cs.container_summary(listed, None)
    assert summary["name"] == "speech-stt-en-us" and summary["running"] is True
    assert summary["spec"] is None and summary["restart_count"] is None
    assert summary["image"] == listed["Image"] and summary["image_id"] == listed["ImageID"]
    assert summary["published_ports"] == [{"host_ip": "127.0.0.1", "host_port": 15900, "container_port": 5000, "protocol": "tcp"}]
    assert cs.parse_spec_label({"onprem.speech.spec": "[1, 2]"}) is None
    assert cs.parse_spec_label({}) is None


def test_list_filter_is_the_label_equal_true():
    assert json.loads(__import__("urllib.parse").parse.unquote(cs.list_filter("onprem.speech.managed"))) == {"label": ["onprem.speech.managed=true"]}


# ------------------------------------------------------------------ images: digests, users

@pytest.mark.parametrize("reference, digests, expected", [
    (STT_IMAGE, ["mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text@" + STT_DIGEST], STT_DIGEST),
    (STT_IMAGE, ["mirror.example.com:5443/speech/speech-to-text@sha256:" + "aa" * 32,
                 "mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text@" + STT_DIGEST], STT_DIGEST),
    (STT_IMAGE, ["mirror.example.com:5443/speech/speech-to-text@sha256:" + "aa" * 32], None),
    ("mirror.example.com:5443/speech/speech-to-text:5.1.0-amd64-en-us", ["mirror.example.com:5443/speech/speech-to-text@sha256:" + "aa" * 32],
     "sha256:" + "aa" * 32),
    ("debian:12", ["debian@sha256:" + "bb" * 32], "sha256:" + "bb" * 32),
    ("docker.io/library/debian:12", ["debian@sha256:" + "bb" * 32], "sha256:" + "bb" * 32),
    ("localhost/speech-ci/host:abc", [], None),
    (STT_IMAGE.replace(":5.1.0-amd64-en-us", "@" + STT_DIGEST), ["mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text@" + STT_DIGEST],
     STT_DIGEST),
])
def test_digest_for_the_references_repository(reference, digests, expected):
    assert cs.digest_for(reference, digests) == expected


def test_repository_of():
    assert cs.repository_of(STT_IMAGE) == "mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text"
    assert cs.repository_of("mirror:5443/x/y") == "mirror:5443/x/y"
    assert cs.repository_of("mirror:5443/x/y:1@sha256:ab") == "mirror:5443/x/y"


@pytest.mark.parametrize("user, passwd, group, expected", [
    ("", None, None, (0, 0, None)),
    ("65532:65532", None, None, (65532, 65532, None)),
    ("65532", PASSWD, None, (65532, 65532, None)),          # a bare uid takes its passwd entry's group
    ("4000", PASSWD, None, (4000, 0, None)),                 # no entry: group 0, as Docker does
    ("4000", None, None, (4000, 0, None)),                   # no /etc/passwd at all
    ("nonroot", PASSWD, None, (65532, 65532, None)),
    ("nonroot:nonroot", PASSWD, GROUP, (65532, 65532, None)),
    ("app", PASSWD, None, (1001, 2002, None)),
    ("app:speech", PASSWD, GROUP, (1001, 4242, None)),
    ("app:77", PASSWD, None, (1001, 77, None)),
    ("1001:speech", PASSWD, GROUP, (1001, 4242, None)),
    (":77", None, None, (0, 77, None)),
])
def test_resolve_ids(user, passwd, group, expected):
    assert cs.resolve_ids(user, passwd and passwd.decode(), group and group.decode()) == expected


@pytest.mark.parametrize("user, passwd, group, words", [
    ("ghost", PASSWD, None, "user 'ghost' is not in the image's /etc/passwd"),
    ("ghost", None, None, "the image has no /etc/passwd"),
    ("nonroot:ghosts", PASSWD, GROUP, "group 'ghosts' is not in the image's /etc/group"),
    ("nonroot:ghosts", PASSWD, None, "the image has no /etc/group"),
])
def test_resolve_ids_names_what_is_missing(user, passwd, group, words):
    uid, gid, error = cs.resolve_ids(user, passwd and passwd.decode(), group and group.decode())
    assert (uid, gid) == (None, None)
    assert words in error


@pytest.mark.parametrize("user, files", [
    ("", []), ("0", ["/etc/passwd"]), ("65532:65532", []), ("nonroot", ["/etc/passwd"]),
    ("nonroot:staff", ["/etc/passwd", "/etc/group"]), ("1000:staff", ["/etc/group"]), (":12", []),
])
def test_needs_files(user, files):
    assert cs.needs_files(user) == files


def test_passwd_parsing_skips_junk():
    assert cs.parse_passwd("# comment\nbroken\nx:x:notanumber:1::/:/bin/sh\nok:x:5:6::/:/bin/sh\n") == [("ok", 5, 6)]
    assert cs.parse_group("g:x:7:\nbad:x:y:\n") == [("g", 7)]


def test_tar_member_reads_the_engines_real_archive():
    kind, data = cs.tar_member((DOCKER / "archive-etc-passwd.tar").read_bytes(), "passwd")
    assert kind == "file"
    assert ("nobody", 65534, 65534) in cs.parse_passwd(data.decode())
    assert cs.tar_member(fake.tar_of("passwd", link="../usr/lib/passwd"), "passwd") == ("link", "../usr/lib/passwd")
    assert cs.tar_member(b"not a tar at all" * 64, "passwd") == (None, None)
    assert cs.tar_member(fake.tar_of("group", b"x"), "passwd") == (None, None)


def test_image_summary_absent_and_present():
    absent = cs.image_summary(None)
    assert absent["present"] is False and absent["uid"] is None and absent["repo_digests"] == []
    present = cs.image_summary(json.loads((DOCKER / "image-testapp.json").read_text()))
    assert present["present"] is True and present["id"].startswith("sha256:8633151f")
    assert present["user"] == "" and present["size"] > 0 and present["created"]


# ------------------------------------------------------------------ paths

def test_stat_path(tmp_path):
    folder = tmp_path / "output"
    folder.mkdir()
    os.chmod(str(folder), 0o2750)
    entry = cs.stat_path(str(folder))
    assert entry == {"exists": True, "isdir": True, "uid": os.getuid(), "gid": folder.stat().st_gid, "mode": "2750"}
    afile = tmp_path / "marker"
    afile.write_text("x")
    os.chmod(str(afile), 0o644)
    assert cs.stat_path(str(afile))["isdir"] is False and cs.stat_path(str(afile))["mode"] == "0644"
    missing = cs.stat_path(str(tmp_path / "nope"))
    assert missing == {"exists": False, "isdir": False, "uid": None, "gid": None, "mode": None}
    assert "error" not in cs.stat_path(str(afile / "under-a-file"))


def test_stat_path_reports_other_errors():
    def denied(path):
        raise PermissionError(13, "Permission denied")
    entry = cs.stat_path("/srv/secret/output", stat=denied)
    assert entry["exists"] is False and entry["error"] == "/srv/secret/output: Permission denied"


# ------------------------------------------------------------------ the throwaway container, against the fake engine

def add_stt(engine, user="nonroot", files=None):
    inspect = fake.image("sha256:" + "5b" * 32, user=user,
                         repo_digests=["mcr.microsoft.com/azure-cognitive-services/speechservices/speech-to-text@" + STT_DIGEST])
    engine.add_image([STT_IMAGE], inspect, {"/etc/passwd": PASSWD, "/etc/group": GROUP} if files is None else files)
    return inspect


def test_named_user_is_read_from_the_image_and_the_container_removed(engine):
    add_stt(engine, "nonroot")
    entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
    assert (entry["uid"], entry["gid"], entry["ids_from"], entry["user_error"]) == (65532, 65532, "image", None)
    assert len(engine.created) == 1 and engine.alive() == []
    body = list(engine.created.values())[0]
    assert body["Labels"] == {cs.THROWAWAY_LABEL: "speech_info"}
    assert body["Cmd"] == cs.THROWAWAY_CMD and body["NetworkDisabled"] is True
    assert engine.create_names[0].startswith(cs.THROWAWAY_PREFIX)
    assert [m for m, p in engine.requests] == ["POST", "GET", "DELETE"]  # create, one archive, delete: never started


def test_numeric_and_empty_users_need_no_container(engine):
    for user, expected in (("65532:65532", (65532, 65532, "config")), ("", (0, 0, "default")), (":0", (0, 0, "config"))):
        add_stt(engine, user)
        entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
        assert (entry["uid"], entry["gid"], entry["ids_from"]) == expected
    assert engine.created == {} and engine.requests == []


def test_group_name_reads_both_files(engine):
    add_stt(engine, "app:speech")
    entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
    assert (entry["uid"], entry["gid"]) == (1001, 4242)
    archives = [p for m, p in engine.requests if "/archive" in p]
    assert [a.split("path=")[1] for a in archives] == ["%2Fetc%2Fpasswd", "%2Fetc%2Fgroup"]
    assert engine.alive() == []


def test_passwd_behind_a_symlink_is_followed(engine):
    add_stt(engine, "nonroot", {"/etc/passwd": ("link", "../usr/share/base/passwd"), "/usr/share/base/passwd": PASSWD})
    entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
    assert (entry["uid"], entry["gid"]) == (65532, 65532)
    assert engine.alive() == []


def test_unknown_user_and_missing_passwd(engine):
    add_stt(engine, "ghost")
    entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
    assert entry["uid"] is None and "not in the image's /etc/passwd" in entry["user_error"]
    add_stt(engine, "nonroot", files={})
    entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
    assert entry["uid"] is None and "no /etc/passwd" in entry["user_error"]
    add_stt(engine, "4000", files={})
    entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
    assert (entry["uid"], entry["gid"], entry["user_error"]) == (4000, 0, None)
    assert len(engine.created) == 3 and engine.alive() == []


def test_failed_archive_still_removes_the_container(engine):
    add_stt(engine, "nonroot")
    engine.fail_archive = 500
    entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
    assert entry["uid"] is None and "HTTP 500" in entry["user_error"] and "nonroot" in entry["user_error"]
    assert len(engine.created) == 1 and engine.alive() == []


def test_engine_hanging_up_midway_still_tries_removal(engine):
    add_stt(engine, "65532")
    engine.hang_up_on = "/containers/"
    # The create itself is refused (connection dropped): nothing was created, nothing to remove.
    entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
    assert entry["uid"] == 65532 and entry["gid"] is None and "user '65532'" in entry["user_error"]
    assert engine.created == {}


def test_failed_removal_is_reported_with_the_containers_name(engine):
    add_stt(engine, "nonroot")
    engine.fail_delete = 500
    entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
    assert entry["uid"] is None
    assert "could not remove the throwaway container %s" % cs.THROWAWAY_PREFIX in entry["user_error"]


def test_failed_create_is_reported(engine):
    add_stt(engine, "nonroot")
    engine.fail_create = (409, "Conflict. The container name is already in use")
    entry = cs.resolve_image_user(client_for(engine), cs.image_summary(engine.images[STT_IMAGE]))
    assert "HTTP 409: Conflict" in entry["user_error"]


# ------------------------------------------------------------------ gather()

def test_gather_everything(engine, tmp_path):
    add_stt(engine, "nonroot")
    (tmp_path / "out").mkdir()
    result = cs.gather(client_for(engine), images=[STT_IMAGE, TTS_IMAGE], paths=[str(tmp_path / "out"), str(tmp_path / "no")])
    assert result["engine"] == {"answers": True, "version": "20.10.24+dfsg1", "api_version": "1.41", "error": None}
    assert [c["name"] for c in result["containers"]] == ["speech-stt-en-us", "speech-tts-aria"]
    stt = result["images"][STT_IMAGE]
    assert stt["present"] and stt["digest"] == STT_DIGEST and (stt["uid"], stt["gid"]) == (65532, 65532)
    assert result["images"][TTS_IMAGE]["present"] is False
    assert result["paths"][str(tmp_path / "out")]["isdir"] is True
    assert result["paths"][str(tmp_path / "no")]["exists"] is False
    listing = [p for m, p in engine.requests if p.startswith("/containers/json")][0]
    assert "all=1" in listing and "filters=" in listing
    assert engine.alive() == []


def test_two_references_to_one_image_read_it_once(engine):
    inspect = add_stt(engine, "nonroot")
    engine.add_image(["mirror.example.com/speech-to-text:5.1.0-amd64-en-us"], inspect)
    result = cs.gather(client_for(engine), images=[STT_IMAGE, "mirror.example.com/speech-to-text:5.1.0-amd64-en-us"])
    assert [(e["uid"], e["gid"]) for e in result["images"].values()] == [(65532, 65532), (65532, 65532)]
    assert result["images"]["mirror.example.com/speech-to-text:5.1.0-amd64-en-us"]["digest"] is None
    assert len(engine.created) == 1 and engine.alive() == []


def test_gather_with_another_label_finds_nothing(engine):
    result = cs.gather(client_for(engine), label="com.example.managed")
    assert result["containers"] == [] and result["engine"]["answers"] is True


def test_gather_without_an_engine(tmp_path):
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    result = cs.gather(DockerClient("unix://" + path), images=[STT_IMAGE], paths=[str(tmp_path)])
    assert result["engine"] == {"answers": False, "version": None, "api_version": None, "error": "connection refused by socket %s" % path}
    assert result["containers"] == []
    assert result["images"][STT_IMAGE]["present"] is False
    assert result["paths"][str(tmp_path)]["exists"] is True


def test_inspect_image_error_other_than_missing(engine):
    engine.hang_up_on = "/images/"
    with pytest.raises(DockerSocketError):
        cs.inspect_image(client_for(engine), STT_IMAGE)
