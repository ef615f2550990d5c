import { AWS_CONFIG_LINK_CHECK } from "./aws-config-link.js";
import { SAFE_PREAMBLE, shQuote } from "./container-shell.js";
import { SAFE_FS_FUNCTIONS } from "./safe-fs-script.js";
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
  /**
   * Secret files by base name (already encoded), in write order. None: a note push, which
   * leaves the credentials the container holds as they are.
   */
  secretFiles: readonly { name: string; content: string }[];
  /**
   * Status notes by base name (`X.note`): one line each on why the agent cannot supply that
   * profile, no secret, readable by every user. A note push writes these and removes any other;
   * a credentials push removes them all (every profile is supplied again).
   */
  notes?: readonly { name: string; content: string }[];
  /** The config and helper to (re)write; undefined when the layout has them read-only. */
  staticFiles: StaticFiles | undefined;
  /** Say whether ~/.aws/config should become a link to the layout's config (aws-config-link.ts). */
  linkAwsConfig: boolean;
  /** Random per push: temp names never collide with a concurrent push or a planted file. */
  nonce: string;
}

export { SAFE_PREAMBLE, shQuote } from "./container-shell.js";

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
 *
 * Everything is written inside directories only root can write, by names relative to them: the
 * secret dir is root's and 0711 (its user reaches the files by name but can neither list it nor
 * plant an entry), so no rename can be made to land elsewhere through a planted link.
 */
export function buildPushScript(input: PushScriptInput): string {
  const { layout, staticFiles, nonce } = input;
  const { secret } = layout;
  const dirFail = `fail ${PushExit.secretDir}`;
  const lines = [
    SAFE_PREAMBLE,
    "umask 077",
    "T=",
    `fail() { [ -z "$T" ] || rm -f $T; printf 'sso-docker: %s\\n' "$2" >&2; exit "$1"; }`,
    // A printf that is not a builtin would put the secrets in a process's arguments.
    ...(input.secretFiles.length === 0
      ? []
      : [
          `case $(command -V printf 2>/dev/null) in *builtin*|*built-in*) ;; *) fail ${PushExit.noPrintfBuiltin} "printf is not a builtin of /bin/sh" ;; esac`,
        ]),
    // noclobber: '>' creates with O_EXCL (never through a link), and umask 077 makes it 0600.
    "set -C",
    SAFE_FS_FUNCTIONS,
    `U=${shQuote(input.userSpec)}`,
    RESOLVE_USER,
    `D=${shQuote(secret.dir)}; M=${shQuote(secret.mount)}; ok=`,
    // The last mount on M wins, as in the kernel's view.
    `while read -r _ m t _; do if [ "$m" = "$M" ]; then ok=; [ "$t" != tmpfs ] || ok=1; fi; done < /proc/mounts`,
    `[ -n "$ok" ] || fail ${PushExit.notTmpfs} "$M is not a tmpfs mount"`,
    `! has_mount "$D" || ${dirFail} "a filesystem is mounted at or under $D"`,
    // Config and helper first: once a JSON appears, a waiting helper finds all it needs.
    ...(staticFiles === undefined ? [] : staticFilesPart(staticFiles, layout, nonce)),
    ...(input.linkAwsConfig ? [AWS_CONFIG_LINK_CHECK(layout.configPath)] : []),
    // Anything else at D (a link, a directory someone else made first in a world-writable
    // /dev/shm, an older layout) is removed and D made again; a concurrent push may make it first.
    `if ! { cd -P "$D" 2>/dev/null && [ "$PWD" = "$D" ] && is_root_dir drwx--x--x; }; then`,
    `  cd / && remove "$D" drwx--x--x || ${dirFail} "cannot remove $D, which sso-docker did not make"`,
    '  mkdir -m 711 "$D" 2>/dev/null',
    `  cd -P "$D" && [ "$PWD" = "$D" ] && is_root_dir drwx--x--x || ${dirFail} "$D changed while it was made (by a process in the container?)"`,
    "fi",
    ...(input.secretFiles.length === 0 ? [] : secretFilesPart(input.secretFiles, nonce)),
    ...(input.notes === undefined ? [] : notesPart(input.notes, nonce)),
    'echo "user $uid $gid"',
    "exit 0",
    "",
  ];
  return lines.join("\n");
}

/** Runs in the secret dir: the credentials, each replaced whole, and no note left beside them. */
function secretFilesPart(files: PushScriptInput["secretFiles"], nonce: string): string[] {
  const tmp = (name: string) => `.tmp-${nonce}-${name}`;
  const keep = files.map((f) => shQuote(f.name)).join("|");
  return [
    `T='${files.map((f) => tmp(f.name)).join(" ")}'`,
    ...files.map(
      (f) =>
        `printf '%s' ${shQuote(f.content)} > '${tmp(f.name)}' || fail ${PushExit.secretWrite} "cannot write $D/${f.name}"`,
    ),
    `chown -h "$uid:$gid" $T || fail ${PushExit.secretWrite} "cannot give the credential files to $uid:$gid"`,
    // rename(2) in one directory: readers see the whole old or the whole new file.
    files.map((f) => `put '${tmp(f.name)}' '${f.name}'`).join(" && ") +
      ` || fail ${PushExit.secretWrite} "cannot replace the credential files in $D (is one a directory?)"`,
    "T=",
    // Profiles no longer asked for must not linger.
    `for f in *.json; do case $f in ${keep}) ;; *) [ ! -f "$f" ] || rm -f -- "$f" ;; esac; done`,
    removeNotes([]),
  ];
}

/**
 * Runs in the secret dir: root's notes, 0644 so whichever user the container runs as can read
 * them, each replaced whole like the credentials.
 */
function notesPart(notes: NonNullable<PushScriptInput["notes"]>, nonce: string): string[] {
  const tmp = (name: string) => `.tmp-${nonce}-${name}`;
  return [
    ...notes.map(
      (n) =>
        `T='${tmp(n.name)}'; printf '%s\\n' ${shQuote(n.content)} > "$T" && chmod 644 "$T" && put "$T" '${n.name}' || fail ${PushExit.secretWrite} "cannot write $D/${n.name}"`,
    ),
    "T=",
    removeNotes(notes.map((n) => n.name)),
  ];
}

function removeNotes(keep: readonly string[]): string {
  const remove = '[ ! -f "$f" ] || rm -f -- "$f"';
  const body =
    keep.length === 0 ? remove : `case $f in ${keep.map(shQuote).join("|")}) ;; *) ${remove} ;; esac`;
  return `for f in *.note; do ${body}; done`;
}

/**
 * The static dir stays where it is when it is a directory (a Dev Container image keeps its
 * Feature's files there), but becomes root's and 0755 first, so only root can change its entries
 * while they are replaced; a link or a file in its place is removed.
 */
function staticFilesPart(files: StaticFiles, layout: ContainerLayout, nonce: string): string[] {
  const { staticDir, configPath, helperPath } = layout;
  const base = (path: string) => path.slice(path.lastIndexOf("/") + 1);
  const [helperName, configName] = [base(helperPath), base(configPath)];
  const helperTmp = `.tmp-${nonce}-${helperName}`;
  const configTmp = `.tmp-${nonce}-${configName}`;
  const fail = `fail ${PushExit.staticFiles}`;
  return [
    `S=${shQuote(staticDir)}; s=`,
    // -f: a FIFO planted at the config's path would block the read.
    `[ ! -f ${shQuote(configPath)} ] || { read -r s < ${shQuote(configPath)}; } 2>/dev/null`,
    `if [ "$s" != ${shQuote(files.stamp)} ]; then`,
    "  umask 022",
    `  if [ -L "$S" ] || { [ -e "$S" ] && [ ! -d "$S" ]; }; then rm -f "$S" || ${fail} "cannot remove $S, which is not a directory"; fi`,
    `  [ -d "$S" ] || mkdir -p "$S" || ${fail} "cannot create $S (read-only root filesystem?)"`,
    `  cd -P "$S" && [ "$PWD" = "$S" ] && chown -h 0:0 . && chmod 755 . || ${fail} "$S is not a directory only root can write"`,
    `  T="$S/${helperTmp} $S/${configTmp}"`,
    `  printf '%s' ${shQuote(files.helper)} > '${helperTmp}' && put '${helperTmp}' '${helperName}' || ${fail} "cannot write ${helperPath}"`,
    `  printf '%s' ${shQuote(files.config)} > '${configTmp}' && put '${configTmp}' '${configName}' || ${fail} "cannot write ${configPath}"`,
    "  T=; umask 077; cd /",
    "fi",
  ];
}
