import type { ContainerLayout } from "./secret-dir.js";
import type { StaticFiles } from "./static-files.js";

/** Exit codes of the push script, mapped to messages by push-credentials.ts. */
export const PushExit = {
  user: 10,
  notTmpfs: 11,
  secretDir: 12,
  secretWrite: 13,
  noPrintfBuiltin: 14,
  staticFiles: 15,
} as const;

export interface PushScriptInput {
  /** `--user` form: "", name, uid, uid:gid, name:group. */
  userSpec: string;
  layout: ContainerLayout;
  /** Secret files by base name (already encoded), in write order. */
  secretFiles: readonly { name: string; content: string }[];
  /** The config and helper to (re)write; undefined when the layout has them read-only. */
  staticFiles: StaticFiles | undefined;
  /** Make ~/.aws/config a link to the layout's config when the user has none. */
  linkAwsConfig: boolean;
  /** Random per push: temp names never collide with a concurrent push or a planted file. */
  nonce: string;
}

/**
 * Runs as root in a container whose user may own directories on its PATH or its working dir:
 * only system directories are searched, word splitting is the default, and nothing is relative.
 */
export const SAFE_PREAMBLE = "PATH=/usr/sbin:/usr/bin:/sbin:/bin; IFS=' \t\n'; cd /";

/** POSIX single quoting: the only character to escape is `'` itself. */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

// Resolves --user exactly as Docker does: from the container's /etc/passwd and /etc/group
// (not NSS), a numeric uid with no entry gets gid 0 and home "/". `|| [ -n "$n" ]` keeps a
// last line without a newline.
const RESOLVE_USER = `u=\${U%%:*}; g=; case $U in *:*) g=\${U#*:} ;; esac
[ -n "$u" ] || u=0
uid= gid= home= n=
if [ -r /etc/passwd ]; then
  while IFS=: read -r n _ i j _ h _ || [ -n "$n" ]; do
    if [ "$n" = "$u" ] || [ "$i" = "$u" ]; then uid=$i gid=$j home=$h; break; fi
    n=
  done < /etc/passwd
fi
if [ -z "$uid" ]; then
  case $u in *[!0-9]*) fail 10 "user $u is not in /etc/passwd" ;; esac
  uid=$u gid=0 home=/
fi
case $g in
  '') ;;
  *[!0-9]*) gid= n=
    if [ -r /etc/group ]; then
      while IFS=: read -r n _ i _ || [ -n "$n" ]; do
        if [ "$n" = "$g" ]; then gid=$i; break; fi
        n=
      done < /etc/group
    fi
    [ -n "$gid" ] || fail 10 "group $g is not in /etc/group" ;;
  *) gid=$g ;;
esac
case $uid:$gid in *[!0-9:]*|:*|*:) fail 10 "user $U does not resolve to a numeric uid:gid" ;; esac`;

/**
 * The script `/bin/sh -s` reads on stdin, as root, in one exec. Secrets appear only as
 * single-quoted arguments of the `printf` builtin: never on a command line (/proc/PID/cmdline)
 * and never in a heredoc (which some shells back with a temp file on disk).
 */
export function buildPushScript(input: PushScriptInput): string {
  const { layout, staticFiles, nonce } = input;
  const { secret } = layout;
  const tmp = (name: string) => `.tmp-${nonce}-${name}`;
  const temps = input.secretFiles.map((f) => tmp(f.name)).join(" ");
  const keep = input.secretFiles.map((f) => shQuote(f.name)).join("|");
  const lines = [
    SAFE_PREAMBLE,
    "umask 077",
    "T=",
    `fail() { [ -z "$T" ] || rm -f $T; printf 'sso-docker: %s\\n' "$2" >&2; exit "$1"; }`,
    // A printf that is not a builtin would put the secrets in a process's arguments.
    `case $(command -V printf 2>/dev/null) in *builtin*|*built-in*) ;; *) fail ${PushExit.noPrintfBuiltin} "printf is not a builtin of /bin/sh" ;; esac`,
    `U=${shQuote(input.userSpec)}`,
    RESOLVE_USER,
    `D=${shQuote(secret.dir)}; M=${shQuote(secret.mount)}; ok=`,
    // The last mount on M wins, as in the kernel's view.
    `while read -r _ m t _; do if [ "$m" = "$M" ]; then ok=; [ "$t" != tmpfs ] || ok=1; fi; done < /proc/mounts`,
    `[ -n "$ok" ] || fail ${PushExit.notTmpfs} "$M is not a tmpfs mount"`,
    // Never follow a link planted by the container's user: work inside the physical dir.
    `[ ! -L "$D" ] || fail ${PushExit.secretDir} "$D is a symbolic link"`,
    // A concurrent first push may create it in between: existing is fine, cd -P checks the rest.
    // Created 0711 (enterable, not listable, still empty) until it is the user's: a helper
    // polling as that user must not take root's fresh dir for another user's.
    `[ -d "$D" ] || mkdir -m 711 "$D" 2>/dev/null || [ -d "$D" ] || fail ${PushExit.secretDir} "cannot create $D"`,
    `cd -P "$D" && [ "$PWD" = "$D" ] || fail ${PushExit.secretDir} "$D is not a plain directory"`,
    `chown -h "$uid:$gid" . && chmod 700 . || fail ${PushExit.secretDir} "cannot give $D to $uid:$gid"`,
    // Config, helper and link first: once a JSON appears, a waiting helper finds all it needs.
    ...(staticFiles === undefined ? [] : staticFilesPart(staticFiles, layout, nonce)),
    ...(input.linkAwsConfig ? linkAwsConfig(layout.configPath) : []),
    // noclobber: '>' creates with O_EXCL, and umask 077 makes the new file 0600.
    "set -C",
    `T='${temps}'`,
    ...input.secretFiles.map(
      (f) =>
        `printf '%s' ${shQuote(f.content)} > '${tmp(f.name)}' || fail ${PushExit.secretWrite} "cannot write $D/${f.name}"`,
    ),
    `chown -h "$uid:$gid" $T || fail ${PushExit.secretWrite} "cannot give the credential files to $uid:$gid"`,
    // rename(2) in one directory: readers see the whole old or the whole new file.
    input.secretFiles.map((f) => `mv -f '${tmp(f.name)}' '${f.name}'`).join(" && ") +
      ` || fail ${PushExit.secretWrite} "cannot replace the credential files in $D"`,
    "T=",
    // Profiles no longer asked for must not linger.
    `for f in *.json; do case $f in ${keep}) ;; *) [ ! -f "$f" ] || rm -f -- "$f" ;; esac; done`,
    'echo "user $uid $gid"',
    "exit 0",
    "",
  ];
  return lines.join("\n");
}

function staticFilesPart(files: StaticFiles, layout: ContainerLayout, nonce: string): string[] {
  const { staticDir, configPath, helperPath } = layout;
  const helperTmp = `${staticDir}/.tmp-${nonce}-credential-process`;
  const configTmp = `${staticDir}/.tmp-${nonce}-config`;
  const fail = `fail ${PushExit.staticFiles}`;
  return [
    `S=${shQuote(staticDir)}; s=`,
    `{ read -r s < ${shQuote(configPath)}; } 2>/dev/null`,
    `if [ "$s" != ${shQuote(files.stamp)} ]; then`,
    "  umask 022",
    `  [ ! -L "$S" ] || ${fail} "$S is a symbolic link"`,
    // A tmpfs root keeps the mode it was mounted with.
    `  { [ -d "$S" ] || mkdir -p "$S"; } && { [ "$S" = "$M" ] || chmod 755 "$S"; } || ${fail} "cannot create $S (read-only root filesystem?)"`,
    `  T='${helperTmp} ${configTmp}'`,
    `  printf '%s' ${shQuote(files.helper)} > '${helperTmp}' && mv -f '${helperTmp}' ${shQuote(helperPath)} || ${fail} "cannot write ${helperPath}"`,
    `  printf '%s' ${shQuote(files.config)} > '${configTmp}' && mv -f '${configTmp}' ${shQuote(configPath)} || ${fail} "cannot write ${configPath}"`,
    "  T=; umask 077",
    "fi",
  ];
}

// Only for containers without AWS_CONFIG_FILE: a user's own ~/.aws/config is never replaced.
const linkAwsConfig = (configPath: string) => [
  'if [ -z "$home" ] || [ "$home" = / ]; then echo "warn no-home /"',
  'else A="$home/.aws"',
  '  if [ ! -e "$A" ] && [ ! -L "$A" ]; then mkdir -m 700 "$A" 2>/dev/null && chown -h "$uid:$gid" "$A"; fi',
  `  if [ "$A/config" -ef ${shQuote(configPath)} ]; then :`,
  '  elif [ -L "$A" ]; then echo "warn aws-dir-is-link $A"',
  '  elif [ -e "$A/config" ] || [ -L "$A/config" ]; then echo "warn aws-config-exists $A/config"',
  `  elif ! ln -s ${shQuote(configPath)} "$A/config" 2>/dev/null; then echo "warn aws-config-link-failed $A/config"`,
  "  fi",
  "fi",
];
