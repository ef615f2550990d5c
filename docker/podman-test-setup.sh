#!/bin/sh
# Rootful Podman for test/podman*.test.ts: starts its Docker-compatible API service on the standard
# rootful socket unless one answers there (left running for the next file, as dockerd is), then
# copies the given offline test images from Docker into Podman's own store unless it has them.
# Idempotent; quick when both are done. Test files call it in parallel: they take turns (flock).
# Usage: podman-test-setup.sh IMAGE...
set -eu
command -v podman >/dev/null 2>&1 || {
  echo "podman is not installed: apt-get install -y podman (.ci/run does)" >&2
  exit 1
}
socket=/run/podman/podman.sock
url=unix://$socket
cache=${SSO_DOCKER_TEST_CACHE:-/var/cache/sso-docker-test}
mkdir -p "$cache" /run/podman
exec 9>"$cache/podman.lock"
flock 9
# This sandbox refuses raised rlimits ("error setting rlimit type 7"): containers get defaults it
# may set. test/support/podman.ts names this file for a podman CLI that makes containers itself.
conf=$cache/podman-containers.conf
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n' >"$conf.tmp"
mv "$conf.tmp" "$conf"

answers() { podman --remote --url "$url" version >/dev/null 2>&1; }
if ! answers; then
  # 9>&-: the service must not hold the lock.
  CONTAINERS_CONF=$conf setsid nohup podman system service --time=0 "$url" \
    >>"$cache/podman-service.log" 2>&1 </dev/null 9>&- &
  # The service has no readiness signal to wait on: ask until it answers, within 30 s.
  tries=0
  until answers; do
    tries=$((tries + 1))
    if [ "$tries" -gt 150 ]; then
      echo "podman system service did not answer on $socket within 30 s; $cache/podman-service.log:" >&2
      tail -n 20 "$cache/podman-service.log" >&2
      exit 1
    fi
    sleep 0.2
  done
fi

missing=
for image in "$@"; do
  podman --remote --url "$url" image exists "$image" || missing="$missing $image"
done
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086 # one word per image
  docker save $missing | podman --remote --url "$url" load >&2
fi
