/**
 * The `credential_process` helper installed at /etc/sso-docker/credential-process. POSIX sh
 * (dash, busybox ash): the SDKs run it as `/bin/sh <helper> '<abs path of NAME.json>'`.
 *
 * It waits for the JSON to exist so a process started with the container does not fail in
 * the race with the first push; the push replaces the file with `mv`, so `cat` reads a
 * whole old or whole new file, never a partial one. The secret dir is root's and 0711: a user
 * finds a file there by name, and a file that is there but unreadable is another user's.
 *
 * Beside the JSON the agent may leave NAME.note, one line on why it cannot supply the profile
 * (a role no longer assigned, a session waiting for a sign-in). When the JSON is missing, or
 * there but expired, the helper prints that line instead of a bare "no credentials": read with
 * the `read` builtin and printed with `printf %s`, never run or expanded, and cut at 1000 bytes.
 * A note ends the wait at once: the agent has tried and knows why it failed.
 */
export const HELPER_SCRIPT = [
  "#!/bin/sh",
  "# sso-docker: prints the credentials the host pushed for one profile (credential_process).",
  "f=$1; p=${f##*/}; p=${p%.json}; m=${f%.json}.note",
  "w=${SSO_DOCKER_WAIT_SECONDS:-15}",
  "case $w in ''|*[!0-9]*) w=15 ;; esac",
  "# The agent's note, its first line only; fails when there is none to print.",
  "note() {",
  '  [ -f "$m" ] && [ -r "$m" ] || return 1',
  '  l=; IFS= read -r l < "$m" || [ -n "$l" ] || return 1',
  "  printf 'sso-docker: %.1000s\\n' \"$l\" >&2",
  "}",
  "# Time in 0.05 s ticks: a poll every tick for the first 2 s (a push lands within a few hundred",
  "# ms of the container's start), then every 10.",
  "t=0; n=$((w * 20))",
  'while [ ! -f "$f" ]; do',
  '  if [ -f "$m" ] || [ "$t" -ge "$n" ]; then',
  '    note || echo "sso-docker: no credentials for profile $p in this container yet — is \\`sso-docker agent\\` running on the host?" >&2',
  "    exit 1",
  "  fi",
  '  if [ "$t" -lt 40 ]; then i=0.05 k=1; else i=0.5 k=10; fi',
  "  # A sleep without fractions falls back to whole seconds.",
  '  if sleep "$i" 2>/dev/null; then t=$((t + k)); else sleep 1; t=$((t + 20)); fi',
  "done",
  'if [ ! -r "$f" ]; then',
  '  echo "sso-docker: the credentials for profile $p belong to another user in this container" >&2',
  "  exit 1",
  "fi",
  "# Expired credentials beside a note: the note says why no newer ones came. Both times are",
  "# RFC 3339 UTC in whole seconds, so they compare as strings; a shell whose [ lacks \\< hands",
  "# the file out as before.",
  'if [ -f "$m" ]; then',
  '  e=; IFS= read -r e < "$f"',
  '  e=${e##*\\"Expiration\\":\\"}; e=${e%%\\"*}',
  "  case $e in [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z) ;; *) e= ;; esac",
  '  if [ -n "$e" ] && [ "$e" \\< "$(date -u +%Y-%m-%dT%H:%M:%SZ)" ] 2>/dev/null && note; then exit 1; fi',
  "fi",
  'exec cat -- "$f"',
  "",
].join("\n");
