#!/bin/sh
# sso-docker's command (installed as dist/bin/sso-docker). Everything goes to Node (main.js),
# except a `sso-docker run` that an earlier run has a plan for (src/run/run-plan.ts): that
# execs `docker run` at once, as the same process, and starts run-pusher.js beside it to push
# the credentials the moment the container starts. Starting Node first costs more than a
# tenth of a `docker run --rm IMAGE true`; this costs a few ms. POSIX sh: dash, bash, busybox.

self=$0
while [ -h "$self" ]; do
  link=$(readlink "$self") || break
  case $link in /*) self=$link ;; *) self=${self%/*}/$link ;; esac
done
bin=${self%/*}

# Returns (to the Node path) unless it execs docker. Its "$@" is its own: the caller's stays.
fast_run() {
  shift
  # --profile values, joined with ",", and the image; the rest is rotated back into "$@". The
  # option table is run-args.ts's (test/run-front.test.ts holds the two to each other).
  names= img= want= dd= n=$#
  while [ "$n" -gt 0 ]; do
    a=$1
    shift
    n=$((n - 1))
    if [ -n "$img" ] || [ -n "$want" ]; then
      want=
    elif [ -n "$dd" ]; then
      img=$a
    else
      case $a in
        --profile)
          [ "$n" -gt 0 ] || return 0
          names=${names:+$names,}$1
          shift
          n=$((n - 1))
          continue
          ;;
        --profile=*)
          names=${names:+$names,}${a#--profile=}
          continue
          ;;
        # Detached runs and help keep Node's handling.
        --detach | --detach=* | --help | --help=*) return 0 ;;
        --) dd=1 ;;
        --*=*) ;;
        --interactive | --tty | --rm | --init | --privileged | --publish-all | --read-only | \
          --no-healthcheck | --oom-kill-disable | --sig-proxy | --disable-content-trust | \
          --quiet | --use-api-socket) ;;
        --*) want=1 ;;
        -) img=$a ;;
        -*)
          c=${a#-}
          while [ -n "$c" ]; do
            f=${c%"${c#?}"}
            c=${c#?}
            case $f in
              d | h) return 0 ;;
              i | t | P | q) ;;
              *)
                [ -n "$c" ] || want=1
                c=
                ;;
            esac
          done
          ;;
        *) img=$a ;;
      esac
    fi
    set -- "$@" "$a"
  done
  [ -n "$img" ] && [ -z "$want" ] || return 0
  case ${AWS_CONFIG_FILE:-/} in /*) ;; *) return 0 ;; esac
  key="${HOME-}|${AWS_CONFIG_FILE-}|${AWS_PROFILE-}|${AWS_DEFAULT_PROFILE-}|${AWS_ENDPOINT_URL-}|${AWS_ENDPOINT_URL_SSO-}|${AWS_ENDPOINT_URL_SSO_OIDC-}|${AWS_IGNORE_CONFIGURED_ENDPOINT_URLS-}|${DOCKER_HOST-}|${DOCKER_CONTEXT-}|${DOCKER_CONFIG-}|${DOCKER_CERT_PATH-}|${DOCKER_TLS_VERIFY-}|${XDG_STATE_HOME-}|$names"
  if [ -n "${XDG_STATE_HOME-}" ]; then dir=$XDG_STATE_HOME/sso-docker/run-plans; else dir=$HOME/.sso-docker/run-plans; fi
  for plan in "$dir"/*.sh; do
    [ -f "$plan" ] || return 0
    p_key= p_until=0 p_images= p_absent=
    . "$plan" || return 0
    [ "$p_key" = "$key" ] && break
  done
  [ "$p_key" = "$key" ] || return 0
  case " $p_images " in *" $img "*) ;; *) return 0 ;; esac
  # Anything that changed what the plan's run checked sends this run through Node again: a file
  # newer than the plan, or one gone that was there then (p_absent has a 1 for each absent one).
  a=${p_absent-}
  for f in "${AWS_CONFIG_FILE:-$HOME/.aws/config}" "$HOME/.aws/sso/cache" "$HOME/.aws/cli/cache" \
    "${DOCKER_CONFIG:-$HOME/.docker}/config.json"; do
    x=${a%"${a#?}"}
    a=${a#?}
    if [ -e "$f" ]; then
      [ "$plan" -nt "$f" ] || return 0
    else
      [ "$x" = 1 ] || return 0
    fi
  done
  # Seconds, and nanoseconds where date has them: with the pid, a label unique to this run,
  # which the pusher waits for.
  t=$(date +%s.%N) || return 0
  now=${t%%.*}
  [ "$now" -lt "$p_until" ] || return 0
  token=$t-$$
  node "$bin/run-pusher.js" "$plan" "$token" "$$" </dev/null >/dev/null &
  p_run "$@"
}

if [ "${1-}" = run ] && [ -z "${SSO_DOCKER_NODE_RUN-}" ]; then fast_run "$@"; fi
exec node "$bin/main.js" "$@"
