#!/usr/bin/env bash
# Builds a signed apt repository laid out like download.docker.com/linux/debian
# under $1, for the suite of the image it runs in (bookworm, trixie), from that
# suite's docker.io, containerd and runc (and trixie's docker-cli) renamed to
# Docker's upstream package names. Versions carry "fake" so nobody mistakes them. docker-ce
# and docker-ce-cli come in two versions (fake1, fake2: the same engine), so a
# test can change docker_version; like docker.io, their maintainer scripts only
# start the engine, they do not restart one that runs.
set -euo pipefail
out=$1
repo=$out/linux/debian
. /etc/os-release
suite=$VERSION_CODENAME
work=$(mktemp -d)
cd "$work"
apt-get download docker.io containerd runc
# Trixie splits the client out of docker.io (docker-cli, only recommended); bookworm's docker.io carries it.
apt-get download docker-cli 2>/dev/null || true
engine=$(dpkg-deb -f docker.io_*.deb Version | sed 's/^[0-9]*://; s/[+~-].*//')
ce_version="5:$engine~fake1-1~debian.$VERSION_ID~$suite"
ce_version2="5:$engine~fake2-1~debian.$VERSION_ID~$suite"
containerd_version="$(dpkg-deb -f containerd_*.deb Version | sed 's/^[0-9]*://; s/[+~-].*//')~fake1-1"

# field NAME FILE VALUE: replace (or add) one control field.
field() {
  if grep -q "^$1:" "$2"; then
    sed -i "s|^$1:.*|$1: $3|" "$2"
  else
    printf '%s: %s\n' "$1" "$3" >> "$2"
  fi
}

# docker-ce: docker.io's files and maintainer scripts, upstream's name and relations.
dpkg-deb -R docker.io_*.deb ce
ctl=ce/DEBIAN/control
sed -i '/^Built-Using:/d;/^Source:/d' "$ctl"
field Package "$ctl" docker-ce
field Version "$ctl" "$ce_version"
# docker.io's own dependencies, containerd and runc replaced by containerd.io, and the client by docker-ce-cli.
depends=$(dpkg-deb -f docker.io_*.deb Depends | tr ',' '\n' | sed 's/^ *//' | grep -v -e '^containerd' -e '^runc' -e '^docker-cli' | paste -sd, - | sed 's/,/, /g')
field Depends "$ctl" "$depends, containerd.io (>= 1.4~), docker-ce-cli"
sed -i '/^Recommends:/d;/^Suggests:/d;/^Breaks:/d' "$ctl"
field Conflicts "$ctl" 'docker, docker-engine, docker.io'
field Replaces "$ctl" 'docker-engine, docker.io'
field Description "$ctl" 'FAKE docker-ce for tests (Debian docker.io repackaged)'
sed -i '/^ /d' "$ctl"

# docker-ce-cli: upstream splits the CLI out. Trixie's docker-cli repackaged; on bookworm docker-ce carries
# the CLI (docker.io's files), so this one is empty.
if ls docker-cli_*.deb >/dev/null 2>&1; then
  dpkg-deb -R docker-cli_*.deb cli
  ctl=cli/DEBIAN/control
  sed -i '/^Built-Using:/d;/^Source:/d;/^Recommends:/d;/^Suggests:/d;/^Breaks:/d;/^ /d' "$ctl"
  field Package "$ctl" docker-ce-cli
  field Version "$ctl" "$ce_version"
  field Conflicts "$ctl" 'docker-cli'
  field Replaces "$ctl" 'docker-cli, docker.io'
  field Description "$ctl" "FAKE docker-ce-cli for tests ($suite's docker-cli repackaged)"
else
  mkdir -p cli/DEBIAN cli/usr/share/doc/docker-ce-cli
  cat > cli/DEBIAN/control <<CTL
Package: docker-ce-cli
Version: $ce_version
Architecture: amd64
Maintainer: onprem.speech tests <tests@localhost>
Conflicts: docker.io
Description: FAKE docker-ce-cli for tests (empty; docker-ce carries the CLI)
CTL
  echo "test fixture" > cli/usr/share/doc/docker-ce-cli/README
fi

# containerd.io: containerd and runc together, as upstream ships them.
dpkg-deb -R containerd_*.deb cio
dpkg-deb -x runc_*.deb cio
ctl=cio/DEBIAN/control
sed -i '/^Built-Using:/d;/^Source:/d' "$ctl"
field Package "$ctl" containerd.io
field Version "$ctl" "$containerd_version"
field Depends "$ctl" 'libc6 (>= 2.34), libseccomp2 (>= 2.5.0)'
field Conflicts "$ctl" 'containerd, runc'
field Replaces "$ctl" 'containerd, runc'
field Provides "$ctl" 'containerd, runc'
field Description "$ctl" 'FAKE containerd.io for tests (Debian containerd and runc repackaged)'
sed -i '/^Breaks:/d;/^ /d' "$ctl"
(cd cio && find . -path ./DEBIAN -prune -o -type f -print0 | xargs -0 md5sum | sed 's| \./| |') > cio/DEBIAN/md5sums

pool=$repo/pool/stable
mkdir -p "$pool"
dpkg-deb -Zgzip -z1 -b ce "$pool/docker-ce.deb" >/dev/null
dpkg-deb -Zgzip -z1 -b cli "$pool/docker-ce-cli.deb" >/dev/null
dpkg-deb -Zgzip -z1 -b cio "$pool/containerd.io.deb" >/dev/null
# The second version: the same files under fake2.
sed -i "s|^Version: .*|Version: $ce_version2|" ce/DEBIAN/control cli/DEBIAN/control
dpkg-deb -Zgzip -z1 -b ce "$pool/docker-ce-2.deb" >/dev/null
dpkg-deb -Zgzip -z1 -b cli "$pool/docker-ce-cli-2.deb" >/dev/null
for deb in "$pool"/*.deb; do
  name=$(dpkg-deb -f "$deb" Package)_$(dpkg-deb -f "$deb" Version | sed 's/^[0-9]*://')_amd64.deb
  mv "$deb" "$pool/$name"
done

cd "$repo"
dist=dists/$suite
mkdir -p "$dist/stable/binary-amd64"
apt-ftparchive packages pool/stable > "$dist/stable/binary-amd64/Packages"
gzip -9k "$dist/stable/binary-amd64/Packages"
apt-ftparchive \
  -o APT::FTPArchive::Release::Origin=onprem-speech-tests \
  -o APT::FTPArchive::Release::Label=fake-docker \
  -o APT::FTPArchive::Release::Suite=$suite \
  -o APT::FTPArchive::Release::Codename=$suite \
  -o APT::FTPArchive::Release::Components=stable \
  -o APT::FTPArchive::Release::Architectures=amd64 \
  release "$dist" > "$work/Release"
mv "$work/Release" "$dist/Release"

export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'onprem.speech fake Docker repository <tests@localhost>' ed25519 sign never
gpg --batch --armor --export > gpg
gpg --batch --yes --clearsign -o "$dist/InRelease" "$dist/Release"
gpg --batch --yes -abs -o "$dist/Release.gpg" "$dist/Release"
gpg --batch --with-colons --fingerprint | awk -F: '/^fpr:/{print $10; exit}' > gpg.fingerprint
rm -rf "$work"
find "$out" -type f | sort
