#!/bin/sh
# Builds a tiny offline test image from Debian's busybox-static: no registry needed.
# Usage: build.sh [TAG]   (default sso-docker-test/busybox:1). Skips the build if TAG exists.
#        build.sh --print-tag   print the default tag only
# Prints the tag on stdout.
set -eu
if [ "${1:-}" = --print-tag ]; then echo sso-docker-test/busybox:1; exit 0; fi
tag=${1:-sso-docker-test/busybox:1}
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi
bb=$(command -v busybox || true)
[ -n "$bb" ] || { echo "busybox not found: apt-get install -y busybox-static" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/home/dev" "$root/root" "$root/dev/shm" "$root/run" "$root/usr/bin"
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\ndev:x:1000:1000:dev:/home/dev:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\ndev:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
chown 1000:1000 "$root/home/dev"
tar -C "$root" -c . | docker import -c 'ENV PATH=/bin:/usr/bin' -c 'CMD ["/bin/sh"]' - "$tag" >/dev/null
echo "$tag"
