#!/bin/sh
# Dots stay readable in file names, "@" is %-encoded, and a profile named "default" is
# [default] itself (no extra alias section).
. ./checks.sh
check_feature dev dev.admin dev.admin.json team@corp.ops team%40corp.ops.json default default.json
reportResults
