import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { ContainerOptions, TestContainer } from "./docker.js";
import { startContainer } from "./docker.js";
import { ensureSshdImage } from "./images.js";
import { waitForOutput } from "./remote-engine.js";

/**
 * Stand-ins for GitHub Codespaces, DevPod and Coder on the real engine: containers of the
 * debian-sshd image, each reached as the real platform's CLI reaches an environment, through its
 * `--stdio` connect command piping an SSH server (here `sshd -i` behind `docker exec -i`, one
 * connection each), and fake `gh`, `devpod` and `coder` first on PATH with those CLIs' argument
 * shapes and JSON, the states from files and one call log. The three share one backing (the
 * state, connect and hang below); each front only reads its CLI's arguments.
 */
export interface FakePlatform extends AsyncDisposable {
  /** Put first on PATH. */
  binDir: string;
  /** The key sso-docker logs in with (`--identity-file`); its public half is authorized in each target. */
  keyFile: string;
  /** Adds `codespace:NAME`, `devpod:WS` or `coder:WS`, backed by a fresh container, running; its host key is its own. */
  add(target: string, options?: ContainerOptions): Promise<TestContainer>;
  /** A target its platform calls running but whose `ssh --stdio` hangs (`sleep HANG_SECONDS`). */
  addHung(target: string): Promise<void>;
  /**
   * Adds an ssh host reachable only as `alias` (the target `ssh:ALIAS`): its sshd listens on
   * `port` of the container's bridge address, and the ssh config names that address, the user
   * `dev` and the key, then `config` (more lines of the alias's Host block).
   */
  addSshHost(alias: string, options?: SshHostOptions): Promise<TestContainer>;
  /** The platform's own word (STATES): gh Available/Shutdown, devpod Running/Stopped/NotFound, coder running/stopped/… */
  setState(target: string, state: string): Promise<void>;
  /** The state as the platform would report it now (a fake that starts a workspace changes it). */
  state(target: string): Promise<string>;
  /** A new host key, as a rebuilt environment (or reinstalled host) has. */
  rekey(target: string): Promise<void>;
  /**
   * A `sudo` in the target, the one after the next `passes`, waits until released: a push (or
   * wipe) runs its script through it, so one held there is past ssh's host-key check and about to
   * write.
   */
  holdRootShell(target: string, passes?: number): Promise<Held>;
  /** Every fake CLI call so far, one `CLI ARGS` line each. */
  calls(): Promise<string[]>;
}

export interface SshHostOptions extends ContainerOptions {
  /** sshd's port (default 2222: only the config says it). */
  port?: number;
  config?: readonly string[];
}

export interface Held {
  /** Resolves once a `sudo` has reached the hold. */
  entered: Promise<void>;
  /** Lets it go on. */
  release(): Promise<void>;
}

export type FakePlatformName = "codespace" | "devpod" | "coder";

/** Each platform's words for an environment that runs and one that is stopped. */
export const STATES: Record<FakePlatformName, { running: string; stopped: string }> = {
  codespace: { running: "Available", stopped: "Shutdown" },
  devpod: { running: "Running", stopped: "Stopped" },
  coder: { running: "running", stopped: "stopped" },
};

/** How long a hung connect command sleeps: a number no other process on the machine uses. */
export const HANG_SECONDS = 3607;

// One backing for the three fronts: the call log, states from files, and the connect (a hang, or
// the target's sshd on stdio as root, which logs the user in).
const BACKING = (dir: string, dockerHost: string | undefined) => String.raw`dir='${dir}'
# The stand-ins run on the test's engine, whichever engine (or none) the caller's DOCKER_HOST names.
unset DOCKER_CONTEXT
${dockerHost === undefined ? "unset DOCKER_HOST" : `export DOCKER_HOST='${dockerHost}'`}
fake_log() { printf '%s\n' "$*" >> "$dir/calls.log"; }
fake_fail() { echo "fake $cli: $*" >&2; exit 2; }
# The platform's state word of $1:$2, or a failure when it has no such environment.
fake_state() { [ -n "$2" ] && [ -f "$dir/state/$1/$2" ] && cat "$dir/state/$1/$2"; }
fake_connect() {
  [ ! -f "$dir/hang/$1/$2" ] || exec sleep ${HANG_SECONDS}
  exec docker exec -i -u 0 "$(cat "$dir/container/$1/$2")" /usr/sbin/sshd -i -f /etc/ssh/sshd_config
}
`;

// gh (cli/cli pkg/cmd/codespace): `codespace view -c NAME --json state` prints {"state":"Available"};
// `codespace ssh -c NAME --stdio` pipes the codespace's sshd. The real one starts a stopped
// codespace on ssh: here the call is logged, which is what tests count.
const GH = String.raw`cli=gh
fake_log gh "$@"
[ "$1" = codespace ] || fake_fail "no command $1"
sub=$2; shift 2
name= stdio= json=
while [ $# -gt 0 ]; do
  case $1 in
    -c|--codespace) name=$2; shift ;;
    --stdio) stdio=1 ;;
    --json) json=$2; shift ;;
    *) fake_fail "unknown flag $1" ;;
  esac
  shift
done
state=$(fake_state codespace "$name") || { echo "error getting codespace: codespace not found" >&2; exit 1; }
case $sub in
  view) [ "$json" = state ] || fake_fail "only --json state"; printf '{"state":"%s"}\n' "$state" ;;
  ssh) [ -n "$stdio" ] || fake_fail "only --stdio"; fake_connect codespace "$name" ;;
  *) fake_fail "no codespace command $sub" ;;
esac
`;

// devpod (loft-sh/devpod cmd/status.go, cmd/ssh.go): `status WS --output json` prints
// {"id","context","provider","state"} with Running/Busy/Stopped/NotFound; `ssh --stdio WS`
// (with --user, --start-services) tunnels to the workspace and refuses a stopped one.
const DEVPOD = String.raw`cli=devpod
fake_log devpod "$@"
sub=$1; shift
name= output=plain stdio=
while [ $# -gt 0 ]; do
  case $1 in
    --output) output=$2; shift ;;
    --stdio) stdio=1 ;;
    --user) shift ;;
    --start-services=true|--start-services=false) ;;
    -*) fake_fail "unknown flag $1" ;;
    *) name=$1 ;;
  esac
  shift
done
state=$(fake_state devpod "$name") || { echo "fatal workspace $name doesn't exist" >&2; exit 1; }
case $sub in
  status) [ "$output" = json ] || fake_fail "only --output json"
    printf '{"id":"%s","context":"default","provider":"docker","state":"%s"}' "$name" "$state" ;;
  ssh) [ -n "$stdio" ] || fake_fail "only --stdio"
    case $state in
      Running) fake_connect devpod "$name" ;;
      Stopped) echo "fatal DevPod workspace is stopped" >&2; exit 1 ;;
      *) echo "fatal DevPod workspace wasn't found" >&2; exit 1 ;;
    esac ;;
  *) fake_fail "no command $sub" ;;
esac
`;

// coder (coder/coder cli/list.go, cli/ssh.go): `list --output json` prints the user's workspaces
// as codersdk.Workspace (`name`, `latest_build.status`), nothing on stdout when there are none;
// `ssh --stdio WS` starts a stopped workspace unless --disable-autostart, then refuses it.
const CODER = String.raw`cli=coder
fake_log coder "$@"
sub=$1; shift
name= output=table stdio= noauto=
while [ $# -gt 0 ]; do
  case $1 in
    -o|--output) output=$2; shift ;;
    --stdio) stdio=1 ;;
    --disable-autostart) noauto=1 ;;
    -*) fake_fail "unknown flag $1" ;;
    *) name=$1 ;;
  esac
  shift
done
case $sub in
  list) [ "$output" = json ] || fake_fail "only --output json"
    out= sep=
    for f in "$dir/state/coder/"*; do
      [ -f "$f" ] || continue
      n=$(basename "$f"); s=$(cat "$f"); t=start
      case $s in stop*) t=stop ;; delet*) t=delete ;; esac
      out="$out$sep{\"name\":\"$n\",\"owner_name\":\"developer\",\"latest_build\":{\"status\":\"$s\",\"transition\":\"$t\"}}"
      sep=,
    done
    if [ -z "$out" ]; then echo "No workspaces found! Create one:" >&2; else printf '[%s]\n' "$out"; fi ;;
  ssh) [ -n "$stdio" ] || fake_fail "only --stdio"
    state=$(fake_state coder "$name") || { echo "workspace \"$name\" not found" >&2; exit 1; }
    if [ "$state" != running ]; then
      [ -z "$noauto" ] || { echo "workspace must be started; was unable to autostart as --disable-autostart is set" >&2; exit 1; }
      echo running > "$dir/state/coder/$name"
    fi
    fake_connect coder "$name" ;;
  *) fake_fail "no command $sub" ;;
esac
`;

const HOLD_DIR = "/run/fake-hold";
// sudo becomes a script that lets a pass go by, or the first time after them waits on the hold's
// fifos, then runs the real one (still setuid root); the login user takes passes and the hold.
const HOLD_SUDO = (passes: number) => String.raw`set -e
[ -e /usr/bin/sudo.real ] || mv /usr/bin/sudo /usr/bin/sudo.real
printf '%s\n' '#!/bin/sh' \
  'h=${HOLD_DIR}' \
  'for p in "$h"/pass.*; do ! mv "$p" "$h/passed" 2>/dev/null || exec /usr/bin/sudo.real "$@"; done' \
  'if mv "$h/armed" "$h/taken" 2>/dev/null; then echo > "$h/entered"; cat "$h/release" > /dev/null; fi' \
  'exec /usr/bin/sudo.real "$@"' > /usr/bin/sudo
chmod 755 /usr/bin/sudo
rm -rf ${HOLD_DIR}
mkdir -m 777 ${HOLD_DIR}
mkfifo -m 666 ${HOLD_DIR}/entered ${HOLD_DIR}/release
: > ${HOLD_DIR}/armed
for i in $(seq ${String(passes)}); do : > ${HOLD_DIR}/pass.$i; done
chmod 666 ${HOLD_DIR}/*
`;

// The ssh the user runs, reading the config the user wrote (here: the platform's) and nothing else.
const SSH_WITH_CONFIG = (config: string) => `#!/bin/sh
exec /usr/bin/ssh -F '${config}' "$@"
`;

const sshHostEntry = (alias: string, lines: readonly string[]) =>
  `Host ${alias}\n${lines.map((line) => `  ${line}\n`).join("")}`;

const FRONTS: Record<string, string> = { gh: GH, devpod: DEVPOD, coder: CODER };
const PLATFORMS = Object.keys(STATES) as FakePlatformName[];

function split(target: string): { platform: FakePlatformName; name: string } {
  const at = target.indexOf(":");
  const platform = target.slice(0, at) as FakePlatformName;
  if (!PLATFORMS.includes(platform)) throw new Error(`no fake platform for ${target}`);
  return { platform, name: target.slice(at + 1) };
}

export async function createFakePlatform(): Promise<FakePlatform> {
  const image = await ensureSshdImage();
  const dir = await mkdtemp(join(tmpdir(), "sso-docker-platform-"));
  const binDir = join(dir, "bin");
  const kinds = ["state", "container", "hang"];
  await mkdir(binDir);
  await Promise.all(kinds.flatMap((k) => PLATFORMS.map((p) => mkdir(join(dir, k, p), { recursive: true }))));
  await writeFile(join(dir, "calls.log"), "");
  await writeFile(join(dir, "backing.sh"), BACKING(dir, process.env["DOCKER_HOST"]));
  for (const [cli, front] of Object.entries(FRONTS)) {
    await writeFile(join(binDir, cli), `#!/bin/sh\n. '${join(dir, "backing.sh")}'\n${front}`);
    await chmod(join(binDir, cli), 0o755);
  }
  const sshConfig = join(dir, "ssh_config");
  await writeFile(sshConfig, "", { mode: 0o600 });
  await writeFile(join(binDir, "ssh"), SSH_WITH_CONFIG(sshConfig));
  await chmod(join(binDir, "ssh"), 0o755);
  const keyFile = join(dir, "id_ed25519");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sso-docker-test", "-f", keyFile]);
  const publicKey = await readFile(`${keyFile}.pub`, "utf8");
  const containers = new Map<string, TestContainer>();
  const file = (kind: string, target: string) => {
    const { platform, name } = split(target);
    return join(dir, kind, platform, name);
  };

  const rekey = async (c: TestContainer) => {
    const made = await c.exec(["sh", "-c", "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A"], { user: "0" });
    if (made.exitCode !== 0) throw new Error(`ssh-keygen -A in ${c.name}: ${made.stderr}`);
  };

  const authorize = async (c: TestContainer) => {
    const authorized = await c.exec(
      ["sh", "-c", "mkdir -p ~/.ssh && chmod 700 ~/.ssh && cat > ~/.ssh/authorized_keys"],
      { user: "dev", input: publicKey },
    );
    if (authorized.exitCode !== 0) throw new Error(`authorized_keys in ${c.name}: ${authorized.stderr}`);
  };

  return {
    binDir,
    keyFile,
    async add(target, options = {}) {
      const c = await startContainer(image, options);
      containers.set(target, c);
      await rekey(c);
      await authorize(c);
      await writeFile(file("container", target), c.id);
      await writeFile(file("state", target), STATES[split(target).platform].running);
      return c;
    },
    async addHung(target) {
      await writeFile(file("hang", target), "");
      await writeFile(file("state", target), STATES[split(target).platform].running);
    },
    async addSshHost(alias, { port = 2222, config = [], ...options } = {}) {
      // sshd re-reads the host keys for each connection: a rekey takes effect without a restart.
      const c = await startContainer(image, {
        ...options,
        command: ["sh", "-c", `ssh-keygen -A && exec /usr/sbin/sshd -D -e -p ${String(port)}`],
      });
      containers.set(`ssh:${alias}`, c);
      await authorize(c);
      const logs = execa("docker", ["logs", "--follow", c.id], { reject: false });
      try {
        await waitForOutput(logs, /Server listening on 0\.0\.0\.0 port/, `sshd in ${c.name}`, 20_000);
      } finally {
        logs.kill();
        await logs;
      }
      const address = (
        await execa("docker", ["inspect", "-f", "{{.NetworkSettings.IPAddress}}", c.id])
      ).stdout.trim();
      if (address === "") throw new Error(`${c.name} has no address on the default bridge`);
      const lines = [`HostName ${address}`, `Port ${String(port)}`, "User dev", `IdentityFile ${keyFile}`];
      await appendFile(sshConfig, sshHostEntry(alias, [...lines, "IdentitiesOnly yes", ...config]));
      return c;
    },
    async setState(target, state) {
      await writeFile(file("state", target), state);
    },
    async state(target) {
      return (await readFile(file("state", target), "utf8")).trim();
    },
    async rekey(target) {
      const c = containers.get(target);
      if (c === undefined) throw new Error(`no target ${target}`);
      await rekey(c);
    },
    async holdRootShell(target, passes = 0) {
      const c = containers.get(target);
      if (c === undefined) throw new Error(`no target ${target}`);
      const armed = await c.exec(["sh", "-c", HOLD_SUDO(passes)], { user: "0" });
      if (armed.exitCode !== 0) throw new Error(`hold in ${c.name}: ${armed.stderr}`);
      // Fifos: each side's open blocks until the other side's, so neither polls.
      const entered = c.exec(["cat", `${HOLD_DIR}/entered`], { user: "0" }).then(() => undefined);
      return {
        entered,
        release: async () => {
          await c.exec(["sh", "-c", `echo > ${HOLD_DIR}/release`], { user: "0" });
        },
      };
    },
    async calls() {
      return (await readFile(join(dir, "calls.log"), "utf8")).split("\n").filter(Boolean);
    },
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}
