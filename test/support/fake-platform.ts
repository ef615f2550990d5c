import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { ContainerOptions, TestContainer } from "./docker.js";
import { startContainer } from "./docker.js";
import { ensureSshdImage } from "./images.js";
import { waitForOutput } from "./remote-engine.js";

/**
 * A stand-in for GitHub Codespaces on the real engine: containers of the debian-sshd image, each
 * reached as the real platform's CLI reaches a codespace, through `gh codespace ssh -c NAME
 * --stdio` piping its sshd (here `sshd -i` behind `docker exec -i`, one connection each), and a
 * fake `gh` first on PATH with gh's argument shapes, its states from files and a call log.
 */
export interface FakePlatform extends AsyncDisposable {
  /** Put first on PATH. */
  binDir: string;
  /** The key sso-docker logs in with (`--identity-file`); its public half is authorized in each target. */
  keyFile: string;
  /** Adds a codespace backed by a fresh container; its host key is its own. */
  addCodespace(name: string, options?: ContainerOptions): Promise<TestContainer>;
  /** A codespace that gh calls Available but whose `ssh --stdio` hangs (`sleep HANG_SECONDS`). */
  addHungCodespace(name: string): Promise<void>;
  /**
   * Adds an ssh host reachable only as `alias`: its sshd listens on `port` of the container's
   * bridge address, and the ssh config names that address, the user `dev` and the key, then
   * `config` (more lines of the alias's Host block).
   */
  addSshHost(alias: string, options?: SshHostOptions): Promise<TestContainer>;
  /** gh's state names: Available, Shutdown, Starting, … */
  setState(name: string, state: string): Promise<void>;
  /** A new host key, as a rebuilt codespace (or reinstalled host) has. */
  rekey(name: string): Promise<void>;
  /** Every fake CLI call so far, one `gh ARGS` line each. */
  calls(): Promise<string[]>;
}

export interface SshHostOptions extends ContainerOptions {
  /** sshd's port (default 2222: only the config says it). */
  port?: number;
  config?: readonly string[];
}

// gh's shapes (cli/cli pkg/cmd/codespace): `codespace view -c NAME --json state` prints
// {"state":"Available"}; `codespace ssh -c NAME --stdio` pipes the codespace's sshd. The real
// one starts a stopped codespace on ssh: here the call is logged, which is what tests count.
/** How long a hung connect command sleeps: a number no other process on the machine uses. */
export const HANG_SECONDS = 3607;

const FAKE_GH = (dir: string, dockerHost: string | undefined) => `#!/bin/sh
dir='${dir}'
# The stand-ins run on the test's engine, whichever engine (or none) the caller's DOCKER_HOST names.
unset DOCKER_CONTEXT
${dockerHost === undefined ? "unset DOCKER_HOST" : `export DOCKER_HOST='${dockerHost}'`}
printf '%s\\n' "gh $*" >> "$dir/calls.log"
[ "$1" = codespace ] || { echo "fake gh: no command $1" >&2; exit 1; }
sub=$2; shift 2
name= stdio= json=
while [ $# -gt 0 ]; do
  case $1 in
    -c|--codespace) name=$2; shift ;;
    --stdio) stdio=1 ;;
    --json) json=$2; shift ;;
    *) echo "fake gh: unknown flag $1" >&2; exit 1 ;;
  esac
  shift
done
[ -f "$dir/state/$name" ] || { echo "error getting codespace: codespace not found" >&2; exit 1; }
case $sub in
  view) [ "$json" = state ] || exit 1; printf '{"state":"%s"}\\n' "$(cat "$dir/state/$name")" ;;
  ssh) [ -n "$stdio" ] || exit 1
    [ ! -f "$dir/hang/$name" ] || exec sleep ${HANG_SECONDS}
    exec docker exec -i -u 0 "$(cat "$dir/container/$name")" /usr/sbin/sshd -i -f /etc/ssh/sshd_config ;;
  *) echo "fake gh: no codespace command $sub" >&2; exit 1 ;;
esac
`;

// The ssh the user runs, reading the config the user wrote (here: the platform's) and nothing else.
const SSH_WITH_CONFIG = (config: string) => `#!/bin/sh
exec /usr/bin/ssh -F '${config}' "$@"
`;

const sshHostEntry = (alias: string, lines: readonly string[]) =>
  `Host ${alias}\n${lines.map((line) => `  ${line}\n`).join("")}`;

export async function createFakePlatform(): Promise<FakePlatform> {
  const image = await ensureSshdImage();
  const dir = await mkdtemp(join(tmpdir(), "sso-docker-platform-"));
  const binDir = join(dir, "bin");
  await Promise.all(
    [binDir, join(dir, "state"), join(dir, "container"), join(dir, "hang")].map((d) => mkdir(d)),
  );
  await writeFile(join(dir, "calls.log"), "");
  await writeFile(join(binDir, "gh"), FAKE_GH(dir, process.env["DOCKER_HOST"]));
  await chmod(join(binDir, "gh"), 0o755);
  const sshConfig = join(dir, "ssh_config");
  await writeFile(sshConfig, "", { mode: 0o600 });
  await writeFile(join(binDir, "ssh"), SSH_WITH_CONFIG(sshConfig));
  await chmod(join(binDir, "ssh"), 0o755);
  const keyFile = join(dir, "id_ed25519");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sso-docker-test", "-f", keyFile]);
  const publicKey = await readFile(`${keyFile}.pub`, "utf8");
  const containers = new Map<string, TestContainer>();

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
    async addCodespace(name, options = {}) {
      const c = await startContainer(image, options);
      containers.set(name, c);
      await rekey(c);
      await authorize(c);
      await writeFile(join(dir, "container", name), c.id);
      await writeFile(join(dir, "state", name), "Available");
      return c;
    },
    async addHungCodespace(name) {
      await writeFile(join(dir, "hang", name), "");
      await writeFile(join(dir, "state", name), "Available");
    },
    async addSshHost(alias, { port = 2222, config = [], ...options } = {}) {
      // sshd re-reads the host keys for each connection: a rekey takes effect without a restart.
      const c = await startContainer(image, {
        ...options,
        command: ["sh", "-c", `ssh-keygen -A && exec /usr/sbin/sshd -D -e -p ${String(port)}`],
      });
      containers.set(alias, c);
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
    async setState(name, state) {
      await writeFile(join(dir, "state", name), state);
    },
    async rekey(name) {
      const c = containers.get(name);
      if (c === undefined) throw new Error(`no codespace ${name}`);
      await rekey(c);
    },
    async calls() {
      return (await readFile(join(dir, "calls.log"), "utf8")).split("\n").filter(Boolean);
    },
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}
