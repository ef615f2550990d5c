import { DockerError } from "../runtime/errors.js";

/** What the failed request was about, so the message can name it. */
export interface DockerErrorContext {
  /** Engine address for "cannot reach" messages. */
  host: string;
  /** Container id or name the request was about, if any. */
  container?: string;
  /** Short verb phrase for other failures: "inspect", "exec in", "copy files into". */
  action?: string;
}

// Socket and DNS failures: the engine itself is out of reach, whatever the request was.
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);

function field(error: unknown, key: string): unknown {
  return typeof error === "object" && error !== null ? (error as Record<string, unknown>)[key] : undefined;
}

/**
 * Maps an engine client failure to a `DockerError`, by HTTP status or errno code — never by
 * message text, which differs between engine versions. A DockerError (an ssh connection's own,
 * say) passes through as it is.
 */
export function toDockerError(error: unknown, context: DockerErrorContext): DockerError {
  if (error instanceof DockerError) return error;
  const statusCode = field(error, "statusCode");
  const code = field(error, "code");
  const { container, host } = context;
  const subject = container === undefined ? "the Docker engine" : `container ${container}`;

  if (statusCode === 404 && container !== undefined) {
    return new DockerError(`No such container: ${container}.`, {
      cause: error,
      hint: "Run `docker ps -a` to see the containers this engine knows.",
    });
  }
  if (statusCode === 409 && container !== undefined) {
    return new DockerError(`Container ${container} is not running (stopped or paused).`, {
      cause: error,
      hint: `Run \`docker start ${container}\` (or \`docker unpause ${container}\`), then try again.`,
    });
  }
  if (code === "EACCES") {
    return new DockerError(`Permission denied on the Docker engine socket at ${host}.`, {
      cause: error,
      hint: "Add your user to the `docker` group (then log in again), or use a rootless engine.",
    });
  }
  if (typeof code === "string" && UNREACHABLE_CODES.has(code)) {
    return new DockerError(`Cannot reach the Docker engine at ${host}.`, {
      cause: error,
      hint: "Check that it is running (`docker info`), or point DOCKER_HOST / `docker context use` at it.",
    });
  }
  const status = typeof statusCode === "number" ? ` (HTTP ${statusCode})` : "";
  const action = context.action ?? "talk to";
  return new DockerError(`The Docker engine at ${host} failed to ${action} ${subject}${status}.`, {
    cause: error,
    hint: "Run `docker info` to check the engine; run again with --debug for details.",
  });
}

const EXEC_TIMEOUT = Symbol.for("sso-docker.ExecTimeoutError");
const EXEC_OUTPUT = Symbol.for("sso-docker.ExecOutputError");

function branded(error: unknown, brand: symbol): boolean {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[brand] === true;
}

/** Engine ids are 64 hex digits; messages show the 12 that `docker ps` shows. */
function shortId(container: string): string {
  return /^[0-9a-f]{64}$/.test(container) ? container.slice(0, 12) : container;
}

function describeMs(ms: number): string {
  return ms % 1000 === 0 ? `${String(ms / 1000)} s` : `${String(ms)} ms`;
}

function describeBytes(bytes: number): string {
  return bytes % 1024 === 0 ? `${String(bytes / 1024)} KiB` : `${String(bytes)} bytes`;
}

/**
 * A command sso-docker ran in a container did not finish within its time limit: the exec's
 * stream was closed and nothing more is awaited from it. Branded (`ExecTimeoutError.is`), since
 * `instanceof` fails across two bundles of this module.
 */
export class ExecTimeoutError extends DockerError {
  override name = "ExecTimeoutError";
  readonly [EXEC_TIMEOUT] = true;

  constructor(
    readonly container: string,
    readonly timeoutMs: number,
  ) {
    super(
      `A command sso-docker ran in container ${shortId(container)} did not finish within ${describeMs(timeoutMs)}; it was abandoned.`,
      {
        hint: `See what hangs in it with \`docker top ${shortId(container)}\`; sso-docker tries again on its next refresh.`,
      },
    );
  }

  static is(error: unknown): error is ExecTimeoutError {
    return branded(error, EXEC_TIMEOUT);
  }
}

/**
 * A command sso-docker ran in a container wrote more than it may on stdout or stderr: reading
 * stopped there, so a flooding container cannot fill the host's memory.
 */
export class ExecOutputError extends DockerError {
  override name = "ExecOutputError";
  readonly [EXEC_OUTPUT] = true;

  constructor(
    readonly container: string,
    readonly stream: "stdout" | "stderr",
    readonly maxBytes: number,
  ) {
    super(
      `A command sso-docker ran in container ${shortId(container)} wrote more than ${describeBytes(maxBytes)} on ${stream}; sso-docker stopped reading it.`,
      {
        hint: `Check the container's binaries (\`docker diff ${shortId(container)}\`); sso-docker tries again on its next refresh.`,
      },
    );
  }

  static is(error: unknown): error is ExecOutputError {
    return branded(error, EXEC_OUTPUT);
  }
}
