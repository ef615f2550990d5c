#!/bin/sh
# Default options (profiles "default", user = the remote user), on the base image given with
# `devcontainer features test -i IMAGE -u dev`. Runs as the remote user.
. ./checks.sh
check_feature "$(id -un)" default default.json
reportResults
