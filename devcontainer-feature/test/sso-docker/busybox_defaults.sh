#!/bin/sh
# Busybox only (no bash, no AWS CLI), remote user dev, no options.
. ./checks.sh
check "no bash in this image" test -z "${BASH_VERSION:-}"
check_feature dev default default.json
reportResults
