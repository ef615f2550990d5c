#!/bin/sh
# profiles "dev, prod": two profiles, blanks trimmed, the first is also [default].
. ./checks.sh
check_feature dev dev dev.json prod prod.json
reportResults
