"""The one look's parsers, against samples from real hosts (tests/unit/fixtures/look)."""

from pathlib import Path

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import host_look

LOOK = Path(__file__).resolve().parents[2] / "fixtures" / "look"


@pytest.mark.parametrize("sample,debian_version,expected", [
    ("os-release-debian12", "12.8\n", ("Debian", "12.8", "12", "bookworm", "Debian")),
    ("os-release-debian13", "13.2\n", ("Debian", "13.2", "13", "trixie", "Debian")),
    # A testing/unstable /etc/debian_version is not a version: os-release's VERSION_ID stays.
    ("os-release-debian13", "trixie/sid\n", ("Debian", "13", "13", "trixie", "Debian")),
    ("os-release-ubuntu2404", None, ("Ubuntu", "24.04", "24", "noble", "Debian")),
    ("os-release-rocky9", None, ("Rocky", "9.4", "9", None, "RedHat")),
])
def test_os_facts_use_setups_names(sample, debian_version, expected):
    facts = host_look.os_facts((LOOK / sample).read_text(), debian_version, systemd_running=True)
    assert (facts["distribution"], facts["distribution_version"], facts["distribution_major_version"],
            facts["distribution_release"], facts["os_family"]) == expected
    assert facts["service_mgr"] == "systemd"


def test_os_facts_without_os_release_are_unknown_not_guessed():
    facts = host_look.os_facts(None, None, systemd_running=False)
    assert set(facts.values()) == {None}


def test_dpkg_packages_only_installed_and_matching():
    status = (LOOK / "dpkg-status").read_text()
    found = host_look.dpkg_packages(status, ["docker*", "containerd*", "openssh-server"])
    # docker-ce is removed with its configuration left (deinstall ok config-files): not installed.
    assert found == {"docker.io": "20.10.24+dfsg1-1+deb12u1+b1", "openssh-server": found["openssh-server"]}
    assert found["openssh-server"].startswith("1:9.2p1")
    assert host_look.dpkg_packages(status, []) == {}


def test_rpm_packages():
    out = "docker-ce\t3:27.3.1-1.el9\ncontainerd.io\t0:1.7.22-3.1.el9\nbash\t0:5.1.8-9.el9\n"
    assert host_look.rpm_packages(out, ["docker*", "containerd*"]) == {"docker-ce": "3:27.3.1-1.el9", "containerd.io": "0:1.7.22-3.1.el9"}


def test_systemctl_units():
    units = host_look.systemctl_units((LOOK / "systemctl-show").read_text())
    assert units["ssh"] == {"exists": True, "active": True, "enabled": True, "active_state": "active", "unit_file_state": "enabled"}
    assert units["docker"]["exists"] is False and units["docker"]["active"] is False
    assert units["nosuch"]["unit_file_state"] is None


def test_gst_elements_leave_typefinders_out():
    elements = host_look.gst_elements((LOOK / "gst-inspect").read_text())
    assert "mpg123audiodec" in elements and "decodebin" in elements and "flacparse" in elements
    assert not [e for e in elements if "/" in e]
    assert host_look.gst_elements("") == []


def test_group_members():
    text = "root:x:0:\ndocker:x:998:deploy,ops\n"
    assert host_look.group_members(host_look.find_group_line(text, "docker")) == ["deploy", "ops"]
    assert host_look.group_members(host_look.find_group_line(text, "root")) == []
    assert host_look.group_members(host_look.find_group_line(text, "nosuch")) is None
