#!/bin/sh
# Builds the debian-aws test image offline: Debian bookworm with the real AWS CLI v2, boto3,
# the AWS JS SDK v3 on Node 24, and a non-root user `dev` (uid 1000). Needs root (debootstrap).
# Usage: build.sh            build if missing, print the tag (all logs go to stderr)
#        build.sh --print-tag   print the tag only
# The tag is a hash of this folder's recipe, so an edit makes a new image and an unchanged
# recipe is never rebuilt. Two layers, each cached: the debootstrap rootfs (rootfs.sh; its
# tarball and .debs are kept in $SSO_DOCKER_TEST_CACHE) and a top layer (Node + SDK), so a
# change to the top layer rebuilds in seconds.
#
# Node: Debian's nodejs is 18 and current @aws-sdk needs >= 20 (>= 22 from 2027), so the image
# gets the official Node 24 LTS binary from the npm registry package node-linux-<arch>, pinned
# here. Unlike copying the host's node, it does not depend on how (or which) Node the host has,
# and the pin is part of the tag.
set -eu
NODE_VERSION=24.21.0
here=$(cd "$(dirname "$0")" && pwd)
cache=${SSO_DOCKER_TEST_CACHE:-/var/cache/sso-docker-test}

hash_of() { cat "$@" | sha256sum | cut -c1-12; }
arch=$(uname -m)
base_hash=$(hash_of "$here/rootfs.sh")
tag=sso-docker-test/debian-aws:$( (cat "$here/build.sh" "$here/rootfs.sh" "$here/Dockerfile" \
  "$here/js-sdk/package.json" "$here/js-sdk/package-lock.json"; echo "$arch") | sha256sum | cut -c1-12)

if [ "${1:-}" = --print-tag ]; then echo "$tag"; exit 0; fi
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi

case $arch in
  x86_64) node_arch=x64 ;;
  aarch64) node_arch=arm64 ;;
  *) echo "debian-aws: unsupported architecture $arch" >&2; exit 1 ;;
esac

mkdir -p "$cache"
base=sso-docker-test/debian-aws-base:$base_hash
if ! docker image inspect "$base" >/dev/null 2>&1; then
  tarball=$cache/debian-aws-rootfs-$base_hash.tar
  if [ ! -f "$tarball" ]; then
    if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null 2>&1; then
      echo "debian-aws: building $tag needs root and debootstrap:" >&2
      echo "  sudo apt-get install -y debootstrap && sudo sh docker/build-test-images.sh" >&2
      exit 1
    fi
    echo "debian-aws: debootstrap bookworm (a few minutes) ..." >&2
    sh "$here/rootfs.sh" "$tarball.partial" "$cache/debs"
    mv "$tarball.partial" "$tarball"
  fi
  docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' -c 'CMD ["/bin/sh"]' "$tarball" "$base" >/dev/null
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/debian-aws-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/js-sdk"
cp "$here/Dockerfile" "$stage/"
cp "$here/js-sdk/package.json" "$here/js-sdk/package-lock.json" "$stage/js-sdk/"
# The SDK is plain JavaScript, so the host's npm installs it for the image's Node.
(cd "$stage/js-sdk" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
(cd "$stage" && npm pack --silent "node-linux-$node_arch@$NODE_VERSION" >/dev/null)
tar -xzf "$stage"/node-linux-*.tgz -C "$stage" package/bin/node
mv "$stage/package/bin/node" "$stage/node"
rm -rf "$stage/package" "$stage"/node-linux-*.tgz

DOCKER_BUILDKIT=0 docker build --build-arg "BASE=$base" --iidfile "$stage/iid" "$stage" >&2
id=$(cat "$stage/iid")
# Tag only an image that works, so a broken build is never cached under the recipe's hash.
docker run --rm --user dev "$id" sh -c '
  aws --version && python3 -c "import boto3" &&
  node -e "require(\"@aws-sdk/client-sts\"); require(\"@aws-sdk/credential-providers\")"' >&2
docker tag "$id" "$tag"
echo "$tag"
