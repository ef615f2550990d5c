import { mkdir, mkdtemp, rm, writeFile, readFile, chmod } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { execa } from "execa";
import lockfile from "proper-lockfile";

/**
 * A second Docker engine for remote-engine tests: its own dockerd (own data root, exec root,
 * pidfile, config file and containerd) listening only on a loopback TCP port, with its own
 * bridge and no iptables rules. Not `--bridge none`: a dockerd started so deletes the host's
 * `docker0` — the main engine's bridge. Its containers reach the host (and so a fake on
 * 0.0.0.0) through `host-gateway`, the own bridge's address.
 * The data root is kept between runs as an image cache (loading the Debian test image takes
 * ~25 s); a lock gives it to one test process at a time, others get a throw-away data root.
 */
export interface SecondEngine extends AsyncDisposable {
  /** `tcp://127.0.0.1:PORT` */
  host: string;
  port: number;
  /** The docker CLI's environment for this engine (nothing but PATH and DOCKER_HOST). */
  env: Record<string, string>;
  /** dockerd's log so far (every run of it), for failure messages. */
  log(): string;
  /**
   * Stops dockerd as a service manager would (SIGTERM; it stops its containers and containerd
   * on the way out) and resolves when the process has exited. Data root, exec root, bridge and
   * port stay for `startDaemon()`.
   */
  stopDaemon(): Promise<void>;
  /**
   * Starts the same dockerd again (same data root, exec root, bridge and port) after
   * `stopDaemon()`; resolves once it listens. Containers come back by their restart policies.
   */
  startDaemon(): Promise<void>;
}

export interface SecondEngineOptions {
  /**
   * false: always a throw-away data root, so the cached one (and its lock) stays free for the
   * tests that need its large images. Default true.
   */
  cache?: boolean;
}

const CACHE = process.env["SSO_DOCKER_TEST_CACHE"] ?? "/var/cache/sso-docker-test";

/** A free loopback port (bound, then released for the daemon to take). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What these helpers need of an execa subprocess, whatever its options. */
export interface ChildProcessLike {
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals): boolean;
  once(event: "exit", listener: () => void): unknown;
  off(event: "exit", listener: () => void): unknown;
}

/** Resolves when `child` writes a line matching `pattern` on stdout or stderr; rejects if it exits first. */
export function waitForOutput(child: ChildProcessLike, pattern: RegExp, what: string, timeoutMs = 60_000) {
  return new Promise<void>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => {
      finish(new Error(`${what}: no ${String(pattern)} within ${timeoutMs} ms:\n${seen.slice(-3000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (pattern.test(seen)) finish();
    };
    const onExit = () => {
      finish(new Error(`${what} exited before printing ${String(pattern)}:\n${seen.slice(-3000)}`));
    };
    const finish = (error?: Error) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs`; resolves when it has exited. */
export async function stopProcess(child: ChildProcessLike, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

async function scratchDataRoot(): Promise<{ dataRoot: string; release: () => Promise<void> }> {
  const scratch = await mkdtemp(join(tmpdir(), "sso-docker-engine2-data-"));
  return { dataRoot: scratch, release: () => rm(scratch, { recursive: true, force: true }) };
}

async function lockDataRoot(): Promise<{ dataRoot: string; release: () => Promise<void> }> {
  const dataRoot = join(CACHE, "remote-engine", "data-root");
  try {
    await mkdir(dataRoot, { recursive: true, mode: 0o700 });
    const release = await lockfile.lock(dataRoot, {
      realpath: false,
      stale: 30_000,
      // A late mtime refresh under load must not throw from a timer: the lock only keeps two
      // test processes from sharing one data root.
      onCompromised: () => undefined,
    });
    return { dataRoot, release };
  } catch {
    // Held by another test process (or the cache is not writable): a fresh data root.
    return scratchDataRoot();
  }
}

/** A bridge for the engine, on a 10.231.X.0/24 no route of the host uses yet. */
async function createBridge(name: string): Promise<void> {
  const routes = (await execa("ip", ["-4", "route"])).stdout;
  const octet = [...Array(250).keys()].map((i) => i + 1).find((i) => !routes.includes(`10.231.${i}.`));
  if (octet === undefined) throw new Error("no free 10.231.X.0/24 for the second engine's bridge");
  await execa("ip", ["link", "add", "name", name, "type", "bridge"]);
  await execa("ip", ["addr", "add", `10.231.${octet}.1/24`, "dev", name]);
  await execa("ip", ["link", "set", name, "up"]);
}

/** Starts the second engine and gives it `images` from the main engine (loaded once, then cached). */
export async function startSecondEngine(
  images: readonly string[],
  options: SecondEngineOptions = {},
): Promise<SecondEngine> {
  const { dataRoot, release } = options.cache === false ? await scratchDataRoot() : await lockDataRoot();
  // Short: containerd's sockets live under the exec root and unix socket paths are limited.
  const execRoot = await mkdtemp(join(tmpdir(), "sso-e2-"));
  const port = await freePort();
  const host = `tcp://127.0.0.1:${port}`;
  const bridge = `ssod-${port}`;
  const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", DOCKER_HOST: host };
  let daemon: ChildProcessLike | undefined;
  let log = "";
  const running = () => daemon !== undefined && daemon.exitCode === null && daemon.signalCode === null;
  // Not /etc/docker/daemon.json: that one is the main engine's (hosts, bridge, …).
  const configFile = join(execRoot, "daemon.json");
  /** Spawns dockerd as `daemon`; resolves once it listens (an execa subprocess is a thenable: not returned). */
  const launch = async (timeoutMs?: number): Promise<void> => {
    const child = execa(
      "dockerd",
      [
        "--config-file",
        configFile,
        "--data-root",
        dataRoot,
        "--exec-root",
        execRoot,
        "--pidfile",
        join(execRoot, "dockerd.pid"),
        "-H",
        host,
        "--bridge",
        bridge,
        // The iptables chains (DOCKER, DOCKER-ISOLATION-*) are the main engine's.
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
      ],
      // No SIGKILL from execa 5 s after SIGTERM: a dockerd killed while it stops its containers
      // leaves them, its containerd and its mounts behind. stopProcess's grace applies instead.
      { stdin: "ignore", stdout: "ignore", buffer: false, reject: false, forceKillAfterDelay: false },
    );
    child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
    daemon = child;
    try {
      const listening = new RegExp(`API listen on 127\\.0\\.0\\.1:${port}`);
      await waitForOutput(child, listening, "second dockerd", timeoutMs);
    } catch (error) {
      await stopProcess(child);
      throw error;
    }
  };
  const dispose = async () => {
    // Stopped by a test that failed before starting it again: start it to remove its containers
    // (a kept data root would otherwise start them again next time).
    if (daemon && !running()) await launch(30_000).catch(() => undefined);
    if (daemon && running()) {
      // Containers first: dockerd would otherwise stop each one with a 10 s grace on the way out.
      const ids = await execa("docker", ["ps", "-aq"], { env, extendEnv: false, reject: false });
      const leftover = ids.stdout.split("\n").filter((id) => id !== "");
      if (leftover.length > 0) {
        await execa("docker", ["rm", "-f", ...leftover], { env, extendEnv: false, reject: false });
      }
      await stopProcess(daemon);
    }
    // dockerd may leave its default network namespace mounted in the exec root.
    await execa("umount", [join(execRoot, "netns", "default")], { reject: false });
    await rm(execRoot, { recursive: true, force: true }).catch(() => undefined);
    await execa("ip", ["link", "delete", bridge], { reject: false });
    await release();
  };
  try {
    await createBridge(bridge);
    await writeFile(configFile, "{}\n");
    await launch();
    await removeAllContainers(env);
    await loadImages(images, env);
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    host,
    port,
    env,
    log: () => log,
    async stopDaemon() {
      if (daemon) await stopProcess(daemon);
    },
    async startDaemon() {
      if (running()) throw new Error(`the second dockerd at ${host} is running already`);
      await launch();
    },
    [Symbol.asyncDispose]: dispose,
  };
}

/** The engine is this test's alone: a run that crashed may have left containers behind. */
async function removeAllContainers(env: Record<string, string>): Promise<void> {
  const ids = (await execa("docker", ["ps", "-aq"], { env, extendEnv: false })).stdout
    .split("\n")
    .filter((id) => id !== "");
  if (ids.length > 0) await execa("docker", ["rm", "-f", ...ids], { env, extendEnv: false });
}

/** `docker save | docker load` for the tags the engine lacks; drops tags no longer wanted. */
async function loadImages(images: readonly string[], env: Record<string, string>): Promise<void> {
  const present = (
    await execa("docker", ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], { env, extendEnv: false })
  ).stdout
    .split("\n")
    .filter((tag) => tag !== "");
  const missing = images.filter((image) => !present.includes(image));
  if (missing.length > 0) {
    console.info(`second engine: loading ${missing.join(", ")} (once per machine)`);
    // Not buffered: execa would kill `docker save` once its output passed maxBuffer (100 MB), and
    // the Debian image's tar is ~500 MB ("docker load: unexpected EOF").
    await execa("docker", ["save", ...missing], { buffer: false }).pipe("docker", ["load", "--quiet"], {
      env,
      extendEnv: false,
    });
  }
  const stale = present.filter((tag) => !images.includes(tag));
  if (stale.length > 0) {
    await execa("docker", ["rmi", "--force", ...stale], { env, extendEnv: false, reject: false });
  }
}

/**
 * An sshd on a loopback port with throw-away host and user keys, whose sessions talk to
 * `dockerHost` (sshd's SetEnv), so `DOCKER_HOST=ssh://…` reaches that engine the way it reaches
 * a remote machine: the docker CLI and sso-docker run `ssh … docker system dial-stdio`. The
 * client side is an ssh_config of this test's own, read through an `ssh` wrapper first on PATH
 * (OpenSSH reads ~/.ssh/config from the passwd entry's home, not from $HOME), and an ssh-agent.
 */
export interface TestSshd extends AsyncDisposable {
  /** `ssh://root@127.0.0.1:PORT`: user and port from the URL, the key from the ssh agent. */
  dockerHost: string;
  /**
   * `ssh://ALIAS`: a Host alias that only the test ssh_config defines (HostName, Port, User,
   * IdentityFile, known_hosts); reachable without the ssh agent.
   */
  aliasHost: string;
  /** `ssh://JUMP`: an alias whose ProxyJump goes through ALIAS. */
  jumpHost: string;
  /** PATH (with the ssh wrapper first) and SSH_AUTH_SOCK of an ssh-agent holding the user key. */
  env: Record<string, string>;
  /** The test ssh_config: every ssh the wrapper starts carries its path in its arguments. */
  configFile: string;
}

/** The alias names: defined in no ssh_config but the test's own. */
export const SSH_ALIAS = "sso-docker-test-engine";
export const SSH_JUMP_ALIAS = "sso-docker-test-jump";

export const SSHD = "/usr/sbin/sshd";

export interface SshdOptions {
  /**
   * Connection sharing as a user sets it up to make ssh connections cheap: the first ssh to a
   * host becomes a background master (ControlPersist), the next ones reuse its connection.
   */
  controlMaster?: boolean;
}

export async function startSshd(dockerHost: string, options: SshdOptions = {}): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), "sso-docker-sshd-"));
  const configFile = join(dir, "ssh_config");
  const children: ChildProcessLike[] = [];
  const dispose = async () => {
    // Background masters (ControlPersist) this test's ssh commands left; their arguments name
    // this test's config, which no other process does.
    const masters = await execa("pgrep", ["-f", `/usr/bin/ssh -F ${configFile}`], { reject: false });
    for (const pid of masters.stdout.split("\n").filter((line) => line !== "")) {
      try {
        process.kill(Number(pid), "SIGTERM");
      } catch {
        // gone already
      }
    }
    for (const child of children.reverse()) await stopProcess(child, 5000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const keygen = (file: string) =>
      execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sso-docker-test", "-f", join(dir, file)]);
    await Promise.all([keygen("host_key"), keygen("user_key")]);
    const port = await freePort();
    const hostKey = (await readFile(join(dir, "host_key.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
    await writeFile(join(dir, "authorized_keys"), await readFile(join(dir, "user_key.pub")));
    await writeFile(join(dir, "known_hosts"), `[127.0.0.1]:${port} ${hostKey}\n`);
    await writeFile(
      join(dir, "sshd_config"),
      [
        "ListenAddress 127.0.0.1",
        `Port ${port}`,
        `HostKey ${join(dir, "host_key")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        // SHLVL=1: Debian's bash sources ~/.bashrc for sshd's commands only in a top-level
        // shell; a slow one (pyenv init here: ~1 s) would otherwise run for every API call.
        `SetEnv DOCKER_HOST=${dockerHost} SHLVL=1`,
        "",
      ].join("\n"),
    );
    const byKeyFile = [
      "  HostName 127.0.0.1",
      `  Port ${port}`,
      "  User root",
      `  IdentityFile ${join(dir, "user_key")}`,
      "  IdentitiesOnly yes",
      "  IdentityAgent none",
    ];
    await writeFile(
      configFile,
      [
        `Host ${SSH_ALIAS}`,
        ...byKeyFile,
        `Host ${SSH_JUMP_ALIAS}`,
        ...byKeyFile,
        `  ProxyJump ${SSH_ALIAS}`,
        // ssh://root@127.0.0.1:PORT: no key file, so the ssh agent's key is the one that works.
        "Host *",
        ...(options.controlMaster === true
          ? ["  ControlMaster auto", `  ControlPath ${join(dir, "cm-%C")}`, "  ControlPersist 60"]
          : []),
        `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
        "  StrictHostKeyChecking yes",
        "  LogLevel ERROR",
        "",
      ].join("\n"),
    );
    await mkdir(join(dir, "bin"));
    const wrapper = join(dir, "bin", "ssh");
    await writeFile(wrapper, `#!/bin/sh\nexec /usr/bin/ssh -F ${configFile} "$@"\n`);
    await chmod(wrapper, 0o755);
    // sshd's privilege separation directory; Debian's init script creates it at boot.
    await mkdir("/run/sshd", { recursive: true, mode: 0o755 });

    const sshd = execa(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], {
      stdin: "ignore",
      stdout: "ignore",
      buffer: false,
      reject: false,
    });
    children.push(sshd);
    const listening = waitForOutput(sshd, /Server listening on 127\.0\.0\.1 port/, "sshd", 20_000);
    const agentSocket = join(dir, "agent.sock");
    const agent = execa("ssh-agent", ["-D", "-a", agentSocket], {
      stdin: "ignore",
      buffer: false,
      reject: false,
    });
    children.push(agent);
    await Promise.all([listening, waitForOutput(agent, /SSH_AUTH_SOCK=/, "ssh-agent", 20_000)]);
    await execa("ssh-add", ["-q", join(dir, "user_key")], { env: { SSH_AUTH_SOCK: agentSocket } });
    return {
      dockerHost: `ssh://root@127.0.0.1:${port}`,
      aliasHost: `ssh://${SSH_ALIAS}`,
      jumpHost: `ssh://${SSH_JUMP_ALIAS}`,
      configFile,
      env: {
        PATH: `${join(dir, "bin")}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
        SSH_AUTH_SOCK: agentSocket,
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
