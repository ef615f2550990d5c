import type { ClientRequestArgs } from "node:http";
import type { Env } from "../runtime/env.js";
import { nodeHttp } from "../runtime/node-http.js";
import { DockerError } from "../runtime/errors.js";
import { quoteForeign } from "../runtime/untrusted-text.js";
import { ProcessSocket, type ProcessEnd } from "./process-socket.js";
import { sshArguments, type SshEndpoint } from "./ssh-endpoint.js";

export interface SshPoolOptions {
  /** Connections open at once (requests beyond wait); exec streams leave the pool once upgraded. */
  maxSockets?: number;
  /** Idle connections kept for the next request. */
  maxFreeSockets?: number;
  /** An idle connection's ssh is ended after this long. */
  idleMs?: number;
}

/**
 * Each connection is an ssh process (a handshake and a remote docker CLI: a few hundred ms); the agent's pushes run 8 at a
 * time beside its event stream, and a short-lived command makes a few requests in a row.
 */
const DEFAULTS: Required<SshPoolOptions> = { maxSockets: 8, maxFreeSockets: 2, idleMs: 30_000 };

/**
 * node:http's connection pool for an ssh:// engine: every connection is the user's own `ssh`
 * (found on PATH, run with the caller's environment: SSH_AUTH_SOCK, HOME) running `docker system
 * dial-stdio` on the remote machine, as the docker CLI does. Idle connections are kept alive for
 * reuse but hold no process up; each ssh is killed when its connection closes, and one still
 * open when this process ends sees its stdin close and ends too.
 */
export class SshConnectionPool extends nodeHttp.Agent {
  private readonly args: readonly string[];

  constructor(
    private readonly endpoint: SshEndpoint,
    private readonly env: Env,
    options: SshPoolOptions = {},
  ) {
    const { maxSockets, maxFreeSockets, idleMs } = { ...DEFAULTS, ...options };
    super({ keepAlive: true, maxSockets, maxFreeSockets, timeout: idleMs });
    this.args = sshArguments(endpoint);
  }

  override createConnection(options: ClientRequestArgs): ProcessSocket {
    const { spawn } = process.getBuiltinModule("node:child_process");
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.env)) if (value !== undefined) env[key] = value;
    // A session of its own, as the docker CLI gives it: a terminal's Ctrl-C, meant for this
    // process, does not cut requests mid-way, and ssh never prompts on the terminal (a key that
    // needs a passphrase comes from the ssh agent).
    const child = spawn("ssh", this.args, { env, stdio: "pipe", detached: true, windowsHide: true });
    const socket = new ProcessSocket(
      child,
      (end) => sshFailed(this.endpoint, end),
      (error) => sshNotRun(this.endpoint, error),
    );
    if (options.timeout !== undefined && options.timeout > 0) socket.setTimeout(options.timeout);
    return socket;
  }
}

/** The command a user can try by hand: the same ssh, with a docker command that prints. */
function tryByHand(endpoint: SshEndpoint): string {
  const { user, port, host, socketPath } = endpoint;
  return [
    "ssh",
    ...(user === undefined ? [] : ["-l", user]),
    ...(port === undefined ? [] : ["-p", port]),
    host,
    "docker",
    ...(socketPath === undefined ? [] : [`--host=unix://${socketPath}`]),
    "version",
  ].join(" ");
}

/** What ssh said last, which is why it gave up: a host key warning banner comes before that. */
function lastWords(stderr: string, max = 300): string {
  const text = stderr.trim();
  return quoteForeign(text.length > max ? `…${text.slice(-max)}` : text, max + 1);
}

function sshFailed(endpoint: SshEndpoint, end: ProcessEnd): DockerError {
  const how = end.code === null ? `was ended by ${String(end.signal)}` : `exited with status ${end.code}`;
  const said = end.stderr.trim() === "" ? "" : `: ${lastWords(end.stderr)}`;
  return new DockerError(`Cannot reach the Docker engine at ${endpoint.address}: ssh ${how}${said}.`, {
    hint: `Check that \`${tryByHand(endpoint)}\` works in a terminal: sso-docker reaches the engine through that same ssh, with your ~/.ssh/config, keys and ssh agent.`,
  });
}

function sshNotRun(endpoint: SshEndpoint, error: Error): DockerError {
  const missing = (error as { code?: unknown }).code === "ENOENT";
  const what = missing ? "there is no `ssh` command on PATH" : `ssh could not be run (${error.message})`;
  return new DockerError(`Cannot reach the Docker engine at ${endpoint.address}: ${what}.`, {
    cause: error,
    hint: missing
      ? "Install the OpenSSH client (Debian/Ubuntu: `apt-get install openssh-client`), or point DOCKER_HOST / `docker context use` at an engine reached without ssh."
      : `Check that \`${tryByHand(endpoint)}\` works in a terminal.`,
  });
}
