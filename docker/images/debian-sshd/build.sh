#!/bin/sh
# Builds the debian-sshd test image offline: debian-aws plus OpenSSH's server and sudo, a
# stand-in for a codespace (its user `dev` has passwordless sudo, as a codespace's user does).
# Usage: build.sh BASE_TAG              build if missing, print the tag (logs go to stderr)
#        build.sh BASE_TAG --print-tag  print the tag only
# No network in `docker build`: the host's apt downloads the .debs (kept in $SSO_DOCKER_TEST_CACHE)
# and the Dockerfile installs them with dpkg. The list is the packages and the dependencies
# debian-aws lacks.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${SSO_DOCKER_TEST_CACHE:-/var/cache/sso-docker-test}
base=$1
PACKAGES="openssh-server openssh-client openssh-sftp-server sudo libwrap0 runit-helper ucf procps
libedit2 libfido2-1 libcbor0.8 libproc2-0 sensible-utils libbsd0 libmd0"

tag=sso-docker-test/debian-sshd:$( (cat "$here/build.sh" "$here/Dockerfile"; echo "$base") | sha256sum | cut -c1-12)
if [ "${2:-}" = --print-tag ]; then echo "$tag"; exit 0; fi
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi

debs=$cache/sshd-debs
if [ ! -f "$debs/complete" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "debian-sshd: building $tag needs a Debian host's apt-get to download its packages" >&2
    exit 1
  fi
  rm -rf "$debs" && mkdir -p "$debs"
  # shellcheck disable=SC2086 # the list is words
  # A machine whose packages came preinstalled may have no package lists yet: fetch them once.
  # shellcheck disable=SC2086
  (cd "$debs" && { apt-get download $PACKAGES >&2 || { apt-get update -qq >&2 && apt-get download $PACKAGES >&2; }; })
  touch "$debs/complete"
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/debian-sshd-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$here/Dockerfile" "$stage/"
mkdir "$stage/debs" && cp "$debs"/*.deb "$stage/debs/"
DOCKER_BUILDKIT=0 docker build --build-arg "BASE=$base" --iidfile "$stage/iid" "$stage" >&2
id=$(cat "$stage/iid")
docker run --rm "$id" sh -c 'test -x /usr/sbin/sshd && test -x /usr/bin/sudo && aws --version' >&2
docker tag "$id" "$tag"
echo "$tag"
