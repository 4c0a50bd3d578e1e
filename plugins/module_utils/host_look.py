# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsing for the one look at a host (the host_facts module): the system, its packages,
files, services, groups and GStreamer elements, so the roles compare on the controller and call
a changing module only where something differs.

Every function takes text and returns values; host_facts does the reading. Formats:
- /etc/os-release: os-release(5); /etc/debian_version: one line, "12.8" (or "trixie/sid");
- /var/lib/dpkg/status: deb822 stanzas (dpkg(1), deb-control(5)), "Status: install ok installed";
- `rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'`: rpm(8) query format;
- `systemctl show -p Id -p LoadState -p ActiveState -p UnitFileState UNIT...`: blank-line separated blocks;
- `gst-inspect-1.0` with no argument: "plugin:  element: description" lines.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

# ID (and ID_LIKE) of os-release -> the names Ansible's setup gives (ansible_facts distribution, os_family).
DISTRIBUTIONS = {
    "debian": "Debian", "ubuntu": "Ubuntu", "rhel": "RedHat", "centos": "CentOS", "rocky": "Rocky",
    "almalinux": "AlmaLinux", "fedora": "Fedora", "ol": "OracleLinux", "amzn": "Amazon",
}
FAMILIES = {
    "Debian": "Debian", "Ubuntu": "Debian", "RedHat": "RedHat", "CentOS": "RedHat", "Rocky": "RedHat",
    "AlmaLinux": "RedHat", "Fedora": "RedHat", "OracleLinux": "RedHat", "Amazon": "RedHat",
}


def parse_os_release(text):
    """KEY=value pairs of os-release, quotes removed."""
    values = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def os_facts(os_release, debian_version=None, systemd_running=False):
    """The setup facts the roles read (distribution, its versions and release, os_family, service_mgr).

    The names follow Ansible's setup module, so a role reads ansible_facts['os_family'] whether
    setup or this look filled it; what is not known is None."""
    values = parse_os_release(os_release)
    ident = values.get("ID", "").lower()
    distribution = DISTRIBUTIONS.get(ident)
    if distribution is None:
        for like in values.get("ID_LIKE", "").lower().split():
            if like in DISTRIBUTIONS:
                distribution = DISTRIBUTIONS[like] if like not in ("rhel", "debian") else (values.get("NAME") or DISTRIBUTIONS[like]).split()[0]
                break
    distribution = distribution or (values.get("NAME") or "").split(" ")[0] or None
    version = values.get("VERSION_ID") or None
    if distribution == "Debian" and debian_version:
        point = debian_version.strip()
        if re.match(r"^\d+(\.\d+)*$", point):
            version = point
    family = FAMILIES.get(distribution)
    if family is None:
        likes = values.get("ID_LIKE", "").lower().split()
        family = "Debian" if "debian" in likes or "ubuntu" in likes else ("RedHat" if set(likes) & {"rhel", "fedora", "centos"} else None)
    return {
        "distribution": distribution,
        "distribution_version": version,
        "distribution_major_version": version.split(".")[0] if version else None,
        "distribution_release": values.get("VERSION_CODENAME") or None,
        "os_family": family,
        "service_mgr": "systemd" if systemd_running else None,
    }


def _matches(name, patterns):
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def dpkg_packages(status_text, patterns):
    """{name: version} of the installed packages (Status: install ok installed) whose name matches a pattern."""
    found = {}
    for stanza in re.split(r"\n\s*\n", status_text or ""):
        fields = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
        name = fields.get("Package")
        if not name or not _matches(name, patterns):
            continue
        if fields.get("Status", "").split()[-1:] != ["installed"]:
            continue
        found[name] = fields.get("Version")
    return found


def rpm_packages(query_output, patterns):
    """{name: epoch:version-release} from `rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'`."""
    found = {}
    for line in (query_output or "").splitlines():
        if "\t" not in line:
            continue
        name, version = line.split("\t", 1)
        if _matches(name, patterns):
            found[name] = version.strip()
    return found


def systemctl_units(show_output):
    """{unit: {exists, active, enabled, active_state, unit_file_state}} from `systemctl show` of several units."""
    units = {}
    for block in re.split(r"\n\s*\n", (show_output or "").strip()):
        fields = {}
        for line in block.splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                fields[key.strip()] = value.strip()
        ident = fields.get("Id")
        if not ident:
            continue
        name = ident[:-len(".service")] if ident.endswith(".service") else ident
        units[name] = {
            "exists": fields.get("LoadState") not in (None, "not-found"),
            "active": fields.get("ActiveState") == "active",
            "enabled": fields.get("UnitFileState") in ("enabled", "enabled-runtime", "static", "alias"),
            "active_state": fields.get("ActiveState"),
            "unit_file_state": fields.get("UnitFileState") or None,
        }
    return units


# The keys of a role's look query (its vars/main.yml), as host_facts's query option takes it.
QUERY_LISTS = ("packages", "files", "read", "services", "groups", "users")
QUERY_FLAGS = ("gstreamer_elements",)


def merge_query(params, query):
    """(params with query merged in, problems). query is a role's look query, or the roles' queries merged: each of its
    lists is added to the option of the same name (each item once, in order); gstreamer_elements is or-ed with the option."""
    merged = dict(params)
    problems = []
    for key in sorted(query or {}):
        value = query[key]
        if key in QUERY_LISTS:
            if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
                problems.append("query.%s: give a list of strings" % key)
                continue
            items = list(merged.get(key) or [])
            merged[key] = items + [item for i, item in enumerate(value) if item not in items and item not in value[:i]]
        elif key in QUERY_FLAGS:
            if not isinstance(value, bool):
                problems.append("query.%s: give true or false" % key)
                continue
            merged[key] = bool(merged.get(key)) or value
        else:
            problems.append("query.%s: not a key of a look query; give %s" % (key, ", ".join(QUERY_LISTS + QUERY_FLAGS)))
    return merged, problems


def gst_elements(inspect_output):
    """The element names `gst-inspect-1.0` lists ("plugin:  element: description" lines), sorted, each once."""
    # Typefinders ("typefindfunctions: audio/x-flac: flac") are not elements.
    return sorted(set(name for name in re.findall(r"(?m)^[^:\s]+:\s+([^:\s]+):", inspect_output or "") if "/" not in name))


def group_members(group_line):
    """The members of an /etc/group line ("name:x:gid:user1,user2"), or None for no line."""
    if not group_line:
        return None
    parts = group_line.strip().split(":")
    if len(parts) < 4:
        return []
    return sorted(m for m in parts[3].split(",") if m)


def find_group_line(group_text, name):
    for line in (group_text or "").splitlines():
        if line.split(":", 1)[0] == name:
            return line
    return None
