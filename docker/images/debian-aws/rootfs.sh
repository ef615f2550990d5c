#!/bin/sh
# The base layer of the debian-aws test image: a Debian bookworm rootfs with the real AWS CLI v2
# and boto3, and a non-root user `dev`, written as a tarball for `docker import`.
# Usage: rootfs.sh OUT_TAR [DEB_CACHE_DIR]   (needs root and debootstrap; ~3 min cold)
# build.sh keys the tarball and the base image on a hash of this file: edit it and both rebuild.
set -eu
out=$1
debs=${2:-}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# python3-cffi-backend must be named, or awscli stays unconfigured. libstdc++6 is for the
# official Node binary that build.sh adds on top (Debian's own nodejs is 18, too old for the SDK).
packages=awscli,python3-boto3,python3-cffi-backend,ca-certificates,libstdc++6

root=$(mktemp -d "${TMPDIR:-/tmp}/debian-aws-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

set -- --variant=minbase --include="$packages"
if [ -n "$debs" ]; then
  mkdir -p "$debs"
  set -- "$@" --cache-dir="$debs"
fi
debootstrap "$@" bookworm "$root" "$mirror" >&2

chroot "$root" useradd --uid 1000 --user-group --create-home --home-dir /home/dev --shell /bin/sh dev
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log

# Docker provides /dev, /proc and /sys; the device nodes debootstrap made would only shadow them.
tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -C "$root" -cf "$out" .
