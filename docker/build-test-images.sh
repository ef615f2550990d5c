#!/bin/sh
# Builds every test image offline if missing and prints one `name=tag` line per image.
# Idempotent and quick when the images exist; used by .ci/run and test/support/images.ts.
# Usage: build-test-images.sh [--print-tags] [--no-sshd]
#   --print-tags  compute the tags, build nothing
#   --no-sshd     leave out debian-sshd (only the suites that stand in a codespace need it)
# Building debian-aws needs root (debootstrap); see docker/images/debian-aws/build.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
print_tags=false
sshd=true
for arg in "$@"; do
  case $arg in
    --print-tags) print_tags=true ;;
    --no-sshd) sshd=false ;;
    *) echo "build-test-images.sh: unknown option $arg (usage: [--print-tags] [--no-sshd])" >&2; exit 2 ;;
  esac
done
if [ -z "${SSO_DOCKER_TEST_CACHE:-}" ]; then
  SSO_DOCKER_TEST_CACHE=/var/cache/sso-docker-test
  mkdir -p "$SSO_DOCKER_TEST_CACHE" 2>/dev/null || SSO_DOCKER_TEST_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/sso-docker-test
fi
export SSO_DOCKER_TEST_CACHE

if [ "$print_tags" = true ]; then
  echo "busybox=$(sh "$here/images/busybox/build.sh" --print-tag)"
  echo "no-shell=$(sh "$here/images/no-shell/build.sh" --print-tag)"
  debian_aws=$(sh "$here/images/debian-aws/build.sh" --print-tag)
  echo "debian-aws=$debian_aws"
  if [ "$sshd" = true ]; then
    echo "debian-sshd=$(sh "$here/images/debian-sshd/build.sh" "$debian_aws" --print-tag)"
  fi
  exit 0
fi

mkdir -p "$SSO_DOCKER_TEST_CACHE"
# Test files call this in parallel: one builds, the others wait and then find the images.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$SSO_DOCKER_TEST_CACHE/build.lock"
  flock 9
fi
busybox=$(sh "$here/images/busybox/build.sh")
no_shell=$(sh "$here/images/no-shell/build.sh")
debian_aws=$(sh "$here/images/debian-aws/build.sh")
echo "busybox=$busybox"
echo "no-shell=$no_shell"
echo "debian-aws=$debian_aws"
if [ "$sshd" = true ]; then
  debian_sshd=$(sh "$here/images/debian-sshd/build.sh" "$debian_aws")
  echo "debian-sshd=$debian_sshd"
fi
