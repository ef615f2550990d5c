#!/bin/sh
# Option user "app": the files name app as the owner and app's ~/.aws/config is linked; the
# remote user dev gets no link of its own.
. ./checks.sh
check_feature app app.reader app.reader.json ops ops.json
check "no ~/.aws for the remote user dev" test ! -e /home/dev/.aws
reportResults
