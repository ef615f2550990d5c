# Shared checks for the sso-docker Feature tests, sourced by test.sh and every scenario script.
#
# The CLI's dev-container-features-test-lib is bash (arrays, `echo -e`). Images with bash run it;
# busybox/Alpine-style images have no bash, so the same `check` / `reportResults` contract is
# provided below in POSIX sh. Either way a failed check is reported and the others still run.
if [ -z "${BASH_VERSION:-}" ] && command -v bash >/dev/null 2>&1; then
  exec bash "$0" "$@"
fi
if [ -n "${BASH_VERSION:-}" ]; then
  # shellcheck disable=SC1091
  . ./dev-container-features-test-lib
  echo "(dev-container-features-test-lib under bash $BASH_VERSION)"
else
  echo "(no bash in this image: POSIX sh check/reportResults)"
  FAILED=
  check() {
    label=$1
    shift
    echo "Testing '$label'"
    if "$@"; then
      echo "  Passed '$label'"
      return 0
    fi
    echo "  FAILED '$label'" >&2
    FAILED="$FAILED '$label'"
    return 1
  }
  reportResults() {
    if [ -n "$FAILED" ]; then
      echo "Failed tests:$FAILED" >&2
      exit 1
    fi
    echo "Test Passed!"
    exit 0
  }
fi

STATIC_DIR=/etc/sso-docker
CONFIG=$STATIC_DIR/config
HELPER=$STATIC_DIR/credential-process
SECRET_DIR=/dev/shm/sso-docker
# Far in the future, so the AWS CLI takes the credentials as valid.
FAKE_JSON='{"Version":1,"AccessKeyId":"ASIAFEATURETEST00001","SecretAccessKey":"feature/test+secret","SessionToken":"feature-test-token","Expiration":"2099-01-01T00:00:00Z"}'

# --- predicates (each prints what it saw when it fails) ------------------------------------------
mode_owner_is() { # path "mode owner"
  got=$(stat -c '%a %U' "$1" 2>&1)
  [ "$got" = "$2" ] || { echo "    $1: '$got', expected '$2'"; return 1; }
}

content_is() { # path expected
  got=$(cat "$1" 2>&1)
  [ "$got" = "$2" ] || { printf '    %s:\n%s\nexpected:\n%s\n' "$1" "$got" "$2"; return 1; }
}

env_is() { # name expected
  eval "got=\${$1-<unset>}"
  [ "$got" = "$2" ] || { echo "    $1='$got', expected '$2'"; return 1; }
}

config_line_is() { # profile file: the credential_process line of [profile P] (or [default])
  if [ "$1" = default ]; then header='[default]'; else header="[profile $1]"; fi
  want="credential_process = /bin/sh $HELPER '$SECRET_DIR/$2'"
  got=$(awk -v h="$header" '/^\[/ { s = ($0 == h) } s && /^credential_process/ { print; exit }' "$CONFIG")
  [ "$got" = "$want" ] || { echo "    under $header: '$got', expected '$want'"; return 1; }
}

# With the AWS CLI: its own parser lists exactly the synced profiles (and default).
aws_lists_profiles() { # expected names, one a line, sorted
  got=$(aws configure list-profiles 2>&1 | sort)
  [ "$got" = "$1" ] || { printf '    aws configure list-profiles:\n%s\nexpected:\n%s\n' "$got" "$1"; return 1; }
}

# Without it: every section has exactly one credential_process line and nothing unexpected.
config_is_plain_ini() {
  bad=$(grep -v -e '^#' -e '^$' -e '^\[default\]$' -e '^\[profile [^] ]*\]$' \
    -e "^credential_process = /bin/sh $HELPER '$SECRET_DIR/[^']*\\.json'\$" "$CONFIG")
  [ -z "$bad" ] || { echo "    unexpected lines: $bad"; return 1; }
}

home_of() {
  while IFS=: read -r n _ i _ _ h _ || [ -n "$n" ]; do
    if [ "$n" = "$1" ] || [ "$i" = "$1" ]; then
      echo "$h"
      return 0
    fi
    n=
  done </etc/passwd
  return 1
}

aws_config_linked() { # user
  home=$(home_of "$1") || { echo "    no user $1"; return 1; }
  mode_owner_is "$home/.aws" "700 $1" || return 1
  # Another user's 0700 ~/.aws cannot be looked into: its mode and owner are what we can see.
  [ "$(id -un)" = "$1" ] || [ "$(id -u)" = 0 ] || return 0
  got=$(readlink "$home/.aws/config" 2>&1)
  [ "$got" = "$CONFIG" ] || { echo "    $home/.aws/config -> '$got'"; return 1; }
}

helper_times_out() {
  start=$(date +%s)
  err=$(SSO_DOCKER_WAIT_SECONDS=1 sh "$HELPER" "$SECRET_DIR/never-pushed.json" 2>&1 >/dev/null)
  code=$?
  took=$(($(date +%s) - start))
  want="sso-docker: no credentials for profile never-pushed in this container yet — is \`sso-docker agent\` running on the host?"
  [ "$code" = 1 ] && [ "$err" = "$want" ] && [ "$took" -le 3 ] ||
    { echo "    exit $code after ${took}s: $err"; return 1; }
}

place_json() { # file
  mkdir -p "$SECRET_DIR" && chmod 700 "$SECRET_DIR" &&
    (umask 077 && printf '%s' "$FAKE_JSON" >"$SECRET_DIR/$1")
}

helper_prints() { # file
  got=$(sh "$HELPER" "$SECRET_DIR/$1" 2>&1)
  [ "$got" = "$FAKE_JSON" ] || { echo "    got '$got'"; return 1; }
}

# The AWS CLI runs credential_process from the config and takes the keys.
aws_reads_credentials() { # profile
  got=$(aws configure export-credentials --profile "$1" --format env-no-export 2>&1)
  case $got in
    *AWS_ACCESS_KEY_ID=ASIAFEATURETEST00001*AWS_SESSION_TOKEN=feature-test-token*) ;;
    *) echo "    aws configure export-credentials: $got"; return 1 ;;
  esac
}

# --- the whole contract for one set of option values -------------------------------------------
# check_feature OWNER PROFILE FILE [PROFILE FILE …]   (FILE: the profile's encoded JSON name)
check_feature() {
  owner=$1
  shift
  names= first= first_file= default_file=
  while [ $# -ge 2 ]; do
    names=${names:+$names
}$1
    [ -n "$first" ] || { first=$1 first_file=$2; }
    [ "$1" != default ] || default_file=$2
    check "config maps profile $1 to $SECRET_DIR/$2" config_line_is "$1" "$2"
    shift 2
  done
  # [default] is the first profile, unless one of them is literally "default".
  if [ -z "$default_file" ]; then
    default_file=$first_file
    check "config maps [default] to the first profile" config_line_is default "$first_file"
  fi

  check "/etc/sso-docker is 755 root" mode_owner_is "$STATIC_DIR" "755 root"
  check "config is 644 root" mode_owner_is "$CONFIG" "644 root"
  check "helper is 644 root" mode_owner_is "$HELPER" "644 root"
  check "profiles file lists the profiles in order" content_is "$STATIC_DIR/profiles" "$names"
  check "user file names the owner ($owner)" content_is "$STATIC_DIR/user" "$owner"
  check "AWS_CONFIG_FILE is set" env_is AWS_CONFIG_FILE "$CONFIG"
  check "SSO_DOCKER_FEATURE marks the container" env_is SSO_DOCKER_FEATURE 1
  check "no secret dir before the agent's first push" test ! -e "$SECRET_DIR"
  check "~/.aws/config of $owner links to $CONFIG" aws_config_linked "$owner"
  if command -v aws >/dev/null 2>&1; then
    expected=$(printf '%s\ndefault\n' "$names" | sort -u)
    check "aws configure list-profiles parses the config" aws_lists_profiles "$expected"
  else
    check "config is plain ini (no AWS CLI here)" config_is_plain_ini
  fi
  check "helper waits, then fails with a clear message" helper_times_out
  check "a JSON can be placed in $SECRET_DIR by hand" place_json "$first_file"
  [ "$default_file" = "$first_file" ] || place_json "$default_file"
  check "helper prints the JSON placed in $SECRET_DIR" helper_prints "$first_file"
  if command -v aws >/dev/null 2>&1; then
    check "the AWS CLI takes credentials for $first through credential_process" aws_reads_credentials "$first"
    check "and for [default]" aws_reads_credentials default
  fi
  rm -rf "$SECRET_DIR"
}
