#!/bin/sh
# Builds an image with no shell at all (like distroless or scratch): busybox as /sleep, nothing
# else. Offline, from Debian's busybox-static. Tests use it to see sso-docker refuse cleanly.
# Usage: build.sh [TAG]   (default sso-docker-test/no-shell:1). Skips the build if TAG exists.
#        build.sh --print-tag   print the default tag only
# Prints the tag on stdout.
set -eu
if [ "${1:-}" = --print-tag ]; then echo sso-docker-test/no-shell:1; exit 0; fi
tag=${1:-sso-docker-test/no-shell:1}
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi
bb=$(command -v busybox || true)
[ -n "$bb" ] || { echo "busybox not found: apt-get install -y busybox-static" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
cp "$bb" "$root/sleep"
tar -C "$root" -c . | docker import -c 'CMD ["/sleep", "600"]' - "$tag" >/dev/null
echo "$tag"
