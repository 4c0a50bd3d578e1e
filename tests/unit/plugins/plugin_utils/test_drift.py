"""The roles' comparisons of the one look against what they want: every kind of drift is seen, and none is invented."""

import copy

import pytest

from ansible_collections.onprem.speech.plugins.plugin_utils import drift

DAEMON = '{\n  "log-driver": "json-file"\n}\n'
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def entry(content, mode="0644", uid=0, gid=0):
    return {"exists": True, "isdir": False, "uid": uid, "gid": gid, "mode": mode, "size": len(content), "sha256": drift.sha256(content)}


WANT = {
    "packages": [{"name": "docker.io", "pin": None}],
    "extras": ["python3-requests"],
    "conflicts": ["docker-ce", "containerd.io"],
    "prerequisites": [],
    "repository": None,
    "daemon_json": {"path": "/etc/docker/daemon.json", "content": DAEMON},
    "cas": [{"registry": "mirror.test:5443", "path": "/etc/docker/certs.d/mirror.test:5443/ca.crt", "content": CA}],
    "service": "docker",
    "users": ["deploy"],
}
CONVERGED = {
    "packages": {"docker.io": "20.10.24+dfsg1-1+deb12u1+b1", "python3-requests": "2.28.1+dfsg-1", "containerd": "1.6.20~ds1-1+b1"},
    "files": {"/etc/docker/daemon.json": entry(DAEMON), "/etc/docker/certs.d/mirror.test:5443/ca.crt": entry(CA)},
    "services": {"docker": {"exists": True, "active": True, "enabled": True, "active_state": "active", "unit_file_state": "enabled"}},
    "groups": {"docker": ["deploy"]},
}


def test_a_converged_host_has_no_drift():
    found = drift.docker_drift(CONVERGED, WANT)
    assert found["changes"] == [] and found["reasons"] == []


def drifted(path, value):
    look = copy.deepcopy(CONVERGED)
    target = look
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return look


@pytest.mark.parametrize("look,concern,words", [
    (drifted(["packages", "docker.io"], None), "packages", "docker.io not installed"),
    (drifted(["packages", "python3-requests"], None), "extras", "python3-requests not installed"),
    (drifted(["packages", "docker-ce"], "5:27.3.1-1~debian.12~bookworm"), "conflicts", "docker-ce installed"),
    (drifted(["files", "/etc/docker/daemon.json"], entry('{"debug": true}\n')), "daemon_json", "content differs"),
    (drifted(["files", "/etc/docker/daemon.json"], entry(DAEMON, mode="0600")), "daemon_json", "mode 0600"),
    (drifted(["files", "/etc/docker/daemon.json"], None), "daemon_json", "missing"),
    (drifted(["files", "/etc/docker/certs.d/mirror.test:5443/ca.crt"], entry(CA.replace("MIIB", "MIIC"))), "cas", "content differs"),
    (drifted(["services", "docker"], {"exists": True, "active": False, "enabled": True, "active_state": "inactive",
                                      "unit_file_state": "enabled"}), "service", "docker is inactive"),
    (drifted(["services", "docker"], {"exists": True, "active": True, "enabled": False, "active_state": "active",
                                      "unit_file_state": "disabled"}), "service", "disabled"),
    (drifted(["groups", "docker"], []), "users", "deploy"),
])
def test_each_kind_of_drift_is_seen_and_named(look, concern, words):
    found = drift.docker_drift(look, WANT)
    assert found["changes"] == [concern]
    assert words in " ".join(found["reasons"])


@pytest.mark.parametrize("installed,pin,matches", [
    ("5:27.3.1-1~debian.12~bookworm", "5:27.3.*", True),
    ("5:27.3.1-1~debian.12~bookworm", "5:27.3.1-1~debian.12~bookworm", True),
    ("5:26.1.5-1~debian.12~bookworm", "5:27.3.*", False),
    ("20.10.24+dfsg1-1+deb12u1+b1", "20.10.24*", True),
    ("3:27.3.1-1.el9", "27.3.1", True),
    ("3:27.3.10-1.el9", "27.3.1", False),
    (None, "27.3.1", False),
    ("1.0", "", True),
])
def test_version_pins_read_like_apt_and_dnf(installed, pin, matches):
    assert drift.version_matches(installed, pin) is matches


def test_a_pinned_package_at_another_version_drifts():
    want = dict(WANT, packages=[{"name": "docker.io", "pin": "20.10.25*"}])
    assert drift.docker_drift(CONVERGED, want)["packages"] == "docker.io 20.10.24+dfsg1-1+deb12u1+b1, not 20.10.25*"


def test_upstream_repository_lines():
    source = "X-Repolib-Name: docker\nTypes: deb\nURIs: https://download.docker.com/linux/debian\nSuites: bookworm\nComponents: stable\n"
    want = dict(WANT, repository={"path": "/etc/apt/sources.list.d/docker.sources",
                                  "lines": ["URIs: https://download.docker.com/linux/debian", "Suites: bookworm", "Components: stable"]})
    look = drifted(["files", "/etc/apt/sources.list.d/docker.sources"], dict(entry(source), content=source))
    assert drift.docker_drift(look, want)["changes"] == []
    edited = source.replace("stable", "test")
    look = drifted(["files", "/etc/apt/sources.list.d/docker.sources"], dict(entry(edited), content=edited))
    assert drift.docker_drift(look, want)["repository"].endswith("no line Components: stable")
    assert drift.docker_drift(CONVERGED, want)["repository"].endswith("missing")


GST_WANT = {
    "packages": ["gstreamer1.0-plugins-good"],
    "pipeline": [{"needs": "a decoder graph", "any": ["decodebin"], "package": "gstreamer1.0-plugins-base"}],
    "decoders": {"mp3": {"label": "MP3", "needs": [{"needs": "decoder", "any": ["mpg123audiodec", "avdec_mp3"], "package": "gstreamer1.0-plugins-good"}]}},
    "formats": ["mp3"],
}


def test_gstreamer_drift():
    look = {"packages": {"gstreamer1.0-plugins-good": "1.22.0-5"}, "gstreamer_elements": ["decodebin", "mpg123audiodec"]}
    assert drift.gstreamer_drift(look, GST_WANT)["changes"] == []
    removed = {"packages": {}, "gstreamer_elements": ["decodebin"]}
    found = drift.gstreamer_drift(removed, GST_WANT)
    assert found["changes"] == ["elements", "packages"]
    assert found["elements"] == ["MP3: no decoder (mpg123audiodec or avdec_mp3) - install gstreamer1.0-plugins-good"]


class CountedList(list):
    """A list that counts how often it is read through (as Ansible's lazy lists are, item by item)."""

    reads = 0

    def __iter__(self):
        self.reads += 1
        return super().__iter__()


def test_gstreamer_drift_reads_the_elements_once():
    # A host lists hundreds of elements; each read of the look's list costs the controller a template per item.
    want = dict(GST_WANT, formats=["mp3", "flac"], decoders=dict(GST_WANT["decoders"], flac={
        "label": "FLAC", "needs": [{"needs": "parser", "any": ["flacparse"], "package": "p"}, {"needs": "decoder", "any": ["flacdec"], "package": "p"}]}))
    elements = CountedList(["decodebin", "mpg123audiodec", "flacparse"])
    found = drift.gstreamer_drift({"packages": {"gstreamer1.0-plugins-good": "1"}, "gstreamer_elements": elements}, want)
    assert found["elements"] == ["FLAC: no decoder (flacdec) - install p"]
    assert elements.reads == 1


def test_look_covers():
    query = {"packages": ["docker*"], "files": ["/etc/docker/daemon.json"], "services": ["docker"], "groups": ["docker"]}
    look = {"query": {"packages": ["docker*", "gstreamer1*"], "files": ["/etc/docker/daemon.json"], "read": [], "services": ["docker"],
                      "groups": ["docker"], "gstreamer_elements": True, "speech_state": False, "images": [], "paths": []}, "speech": None}
    assert drift.look_covers(look, query)
    assert not drift.look_covers(look, dict(query, files=["/etc/docker/certs.d/x/ca.crt"]))
    assert not drift.look_covers(look, {"speech_state": True, "images": []})
    assert not drift.look_covers(None, query)
    assert not drift.look_covers({"cpu_model": "x"}, query)  # a look from before the query was echoed
