#!/bin/sh
# sso-docker Dev Container Feature: the container side of sso-docker, installed at build time.
#
# Writes only non-secret files; the credentials themselves are pushed later by `sso-docker agent`
# on the host (docker exec, stdin) into /dev/shm/sso-docker, a tmpfs private to the container.
#   /etc/sso-docker/credential-process  the credential_process helper (waits for the first push)
#   /etc/sso-docker/config              AWS config: one credential_process profile per name (and
#                                       the region option), until the agent's first push rewrites it
#   /etc/sso-docker/profiles            the profile names, one a line   } read by the agent from
#   /etc/sso-docker/user                the user who owns the credentials } the image, not the container
#   ~USER/.aws/config -> /etc/sso-docker/config, only if that user has no config of their own
#
# POSIX sh (dash, busybox ash), no network, no package manager; safe to run more than once.
# Options arrive as env: PROFILES, REGION, USER (and the built-ins _REMOTE_USER, _CONTAINER_USER).
set -eu

STATIC_DIR=/etc/sso-docker
SECRET_DIR=/dev/shm/sso-docker
here=$(cd "$(dirname "$0")" && pwd)

fail() {
  echo "sso-docker feature: $*" >&2
  exit 1
}

# --- options ---------------------------------------------------------------------------------
profiles_option=${PROFILES-default}
region=${REGION-}
user_option=${USER-}
owner=$user_option
[ -n "$owner" ] || owner=${_REMOTE_USER:-}
[ -n "$owner" ] || owner=${_CONTAINER_USER:-}
[ -n "$owner" ] || owner=root

# No globbing anywhere: an option value like "*" must not expand to file names.
set -f
profiles=
old_ifs=$IFS
IFS=,
for raw in $profiles_option; do
  IFS=$old_ifs
  # Trim blanks around each name (`dev, ops`).
  name=${raw#"${raw%%[![:space:]]*}"}
  name=${name%"${name##*[![:space:]]}"}
  [ -n "$name" ] || continue
  # The charset of validateProfileName in src/delivery/profile-files.ts: what an ini section
  # header and a file name can hold for every SDK (a comma cannot occur: it separates names).
  case $name in
    *[!A-Za-z0-9_.@+=:,/-]*)
      fail "profile name \"$name\" is not allowed (option \"profiles\"). Use letters, digits and . _ - @ + = : / only." ;;
  esac
  case "
$profiles
" in
    *"
$name
"*) ;; # listed twice: keep the first
    *) profiles=${profiles:+$profiles
}$name ;;
  esac
done
IFS=$old_ifs
[ -n "$profiles" ] || fail "option \"profiles\" names no profile (got \"$profiles_option\"). Example: \"profiles\": \"dev,prod\"."

case $owner in
  *[!A-Za-z0-9_.@-]* | -* | .*)
    fail "user \"$owner\" is not a valid user name or uid (option \"user\")." ;;
esac

# An AWS region code (eu-west-1, us-gov-west-1, cn-north-1): lower-case letters, digits, dashes.
case $region in
  *[!a-z0-9-]* | -* | *-)
    fail "region \"$region\" is not an AWS region code (option \"region\"). Example: \"region\": \"eu-west-1\"." ;;
esac

# --- the credential file of a profile: the name with every byte outside [A-Za-z0-9_-] (and a
# leading dot) as %XX, exactly as encodeProfileFileName in src/delivery/profile-files.ts -------
encode_name() {
  rest=$1 out=
  while [ -n "$rest" ]; do
    c=${rest%"${rest#?}"}
    rest=${rest#?}
    case $c in
      [A-Za-z0-9_-]) out=$out$c ;;
      .) if [ -n "$out" ]; then out=$out.; else out=%2E; fi ;;
      *) out=$out$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s.json' "$out"
}

# The order of renderAwsConfig: credential_process, then region.
profile_body() {
  printf "credential_process = /bin/sh %s '%s/%s'\n" "$STATIC_DIR/credential-process" "$SECRET_DIR" "$(encode_name "$1")"
  [ -z "$region" ] || printf 'region = %s\n' "$region"
}

# The same layout as renderAwsConfig: [default] for the first profile unless one is "default".
render_config() {
  echo "# Written by the sso-docker Dev Container Feature; sso-docker agent rewrites it on its first push."
  first=${profiles%%
*}
  has_default=
  for name in $profiles; do [ "$name" != default ] || has_default=1; done
  if [ -z "$has_default" ]; then
    printf '# default = profile %s\n[default]\n' "$first"
    profile_body "$first"
    echo
  fi
  sep=
  for name in $profiles; do
    printf '%s' "$sep"
    sep='
'
    if [ "$name" = default ]; then echo "[default]"; else echo "[profile $name]"; fi
    profile_body "$name"
  done
}

# Write to a temp file and rename: a rebuild never leaves a half-written file behind.
write_file() { # path mode; content on stdin
  cat >"$1.tmp.$$"
  chmod "$2" "$1.tmp.$$"
  mv -f "$1.tmp.$$" "$1"
}

# --- files ------------------------------------------------------------------------------------
umask 022
[ ! -L "$STATIC_DIR" ] || fail "$STATIC_DIR is a symbolic link; remove it from the image."
mkdir -p "$STATIC_DIR"
chmod 755 "$STATIC_DIR"
write_file "$STATIC_DIR/credential-process" 644 <"$here/credential-process"
render_config | write_file "$STATIC_DIR/config" 644
printf '%s\n' "$profiles" | write_file "$STATIC_DIR/profiles" 644
printf '%s\n' "$owner" | write_file "$STATIC_DIR/user" 644

# --- ~/.aws/config of the owner, for tools that ignore AWS_CONFIG_FILE --------------------------
# Looked up in /etc/passwd (no getent in busybox). A user that does not exist yet is fine: the
# agent resolves the owner when it pushes, and AWS_CONFIG_FILE covers everything else.
uid= gid= home= n=
if [ -r /etc/passwd ]; then
  while IFS=: read -r n _ i j _ h _ || [ -n "$n" ]; do
    if [ "$n" = "$owner" ] || [ "$i" = "$owner" ]; then uid=$i gid=$j home=$h; break; fi
    n=
  done </etc/passwd
fi
if [ -z "$uid" ]; then
  echo "sso-docker feature: user \"$owner\" is not in /etc/passwd yet; skipping ~/.aws/config (AWS_CONFIG_FILE is set)." >&2
elif [ -z "$home" ] || [ "$home" = / ] || [ ! -d "$home" ]; then
  echo "sso-docker feature: user \"$owner\" has no home directory; skipping ~/.aws/config (AWS_CONFIG_FILE is set)." >&2
else
  aws_dir=$home/.aws
  if [ ! -e "$aws_dir" ] && [ ! -L "$aws_dir" ]; then
    mkdir -m 700 "$aws_dir"
    chown "$uid:$gid" "$aws_dir"
  fi
  if [ "$aws_dir/config" -ef "$STATIC_DIR/config" ]; then
    : # linked by an earlier run
  elif [ -L "$aws_dir" ] || [ ! -d "$aws_dir" ]; then
    echo "sso-docker feature: $aws_dir is not a plain directory; left alone." >&2
  elif [ -e "$aws_dir/config" ] || [ -L "$aws_dir/config" ]; then
    echo "sso-docker feature: $aws_dir/config exists; left alone (AWS_CONFIG_FILE points at $STATIC_DIR/config)." >&2
  else
    ln -s "$STATIC_DIR/config" "$aws_dir/config"
    chown -h "$uid:$gid" "$aws_dir/config" 2>/dev/null || true
  fi
fi

echo "sso-docker feature: profiles $(printf '%s' "$profiles" | tr '\n' ',') for user $owner${region:+, region $region until the first push}; start \`sso-docker agent\` on the host to receive credentials."
