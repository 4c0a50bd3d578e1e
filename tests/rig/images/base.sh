#!/usr/bin/env bash
# Trims a fresh debootstrap tree before it becomes localhost/speech-ci/debian<version>-base.
# $1: the tree, $2: the Debian mirror the machine's apt uses (kept for apt inside images),
# $3: the suite (bookworm, trixie).
set -euo pipefail
root=$1 mirror=$2 suite=${3:-bookworm}
cat > "$root/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
SRC
cat > "$root/etc/apt/apt.conf.d/90onprem-speech-ci" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Retries "5";
CONF
cat > "$root/etc/dpkg/dpkg.cfg.d/90onprem-speech-ci" <<'CONF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
CONF
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
