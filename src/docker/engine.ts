import type { Env } from "../runtime/env.js";
import { locateEngine, toEngineEndpoint } from "./engine-options.js";
import type { EngineVersion } from "./engine-version.js";
import type { DockerEvent } from "./event-stream.js";
import { HttpEngine } from "./http-engine.js";

export type { DockerEvent } from "./event-stream.js";
export type { EngineVersion } from "./engine-version.js";

/** The parts of `docker inspect` that sso-docker reads. */
export interface ContainerDetails {
  id: string;
  /** Without the leading slash. */
  name: string;
  /**
   * The image ID (`sha256:…`, inspect's `Image`): what the container was made from, whatever
   * name or tag points elsewhere since.
   */
  image: string;
  /** `Config.User`: from `--user` or the image's USER; "" means root. */
  user: string;
  env: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  running: boolean;
  paused: boolean;
  /** `HostConfig.IpcMode`: "private", "shareable", "host", "container:ID", "none" or "". */
  ipcMode: string;
  /** Targets of tmpfs mounts, from `--tmpfs` and `--mount type=tmpfs`. */
  tmpfsTargets: readonly string[];
  /** Where read-only mounts (volumes, binds) sit in the container. */
  readOnlyMounts: readonly string[];
}

/** The parts of `docker image inspect` that `sso-docker run` reads. */
export interface ImageDetails {
  id: string;
  /** `Config.Entrypoint`, [] when unset. */
  entrypoint: readonly string[];
  /** `Config.Cmd`, [] when unset. */
  cmd: readonly string[];
  /** `Config.User`: the image's USER, "" for root. */
  user: string;
}

export interface ContainerSummary {
  id: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  /** "created", "running", "paused", "exited", … */
  state: string;
}

export interface ExecRequest {
  cmd: readonly string[];
  /** `uid`, `uid:gid` or a user name, as `docker exec -u`; "" runs as the container's own user. */
  user: string;
  /** Sent on the process's stdin, then closed. Never put secrets in `cmd` or `env`: use this. */
  stdin?: string | Buffer;
  env?: readonly string[];
  signal?: AbortSignal;
  /**
   * After this long the exec's connection is closed and the call fails with an ExecTimeoutError
   * (the process may go on in the container). Default DEFAULT_EXEC_TIMEOUT_MS (20 s).
   */
  timeoutMs?: number;
  /**
   * Most bytes read from stdout, and from stderr; more ends the call with an ExecOutputError.
   * Default DEFAULT_EXEC_OUTPUT_BYTES (64 KiB).
   */
  maxOutputBytes?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface EventsOptions {
  /** Replay events from this time (ms since the epoch), to close gaps after a reconnect. */
  since?: number;
  /** End the stream at this time (ms since the epoch): with `since`, a finite replay. */
  until?: number;
  /** Called once the engine has accepted the subscription: events from then on will arrive. */
  onOpen?: () => void;
  /** Engine event filters, e.g. `{ type: ["container"], label: ["sso-docker.profiles"] }`. */
  filters?: Readonly<Record<string, readonly string[]>>;
  signal?: AbortSignal;
}

/** The narrow engine surface the rest of sso-docker uses; inject it, fake it in unit tests. */
export interface DockerEngine {
  /** The engine address, for messages. */
  readonly host: string;
  ping(): Promise<void>;
  /** Which engine it is (Docker, Podman) and its version. */
  version(): Promise<EngineVersion>;
  inspectContainer(container: string): Promise<ContainerDetails>;
  /** `undefined` when the engine does not have the image. */
  inspectImage(image: string): Promise<ImageDetails | undefined>;
  listContainers(options?: { labels?: readonly string[]; all?: boolean }): Promise<ContainerSummary[]>;
  exec(container: string, request: ExecRequest): Promise<ExecResult>;
  /** Engine events until the engine closes the stream (restart) or `signal` aborts. */
  events(options?: EventsOptions): AsyncIterable<DockerEvent>;
  /** `undefined` when the engine has no volume of that name. */
  inspectVolume(name: string): Promise<VolumeDetails | undefined>;
  createVolume(name: string, labels: Record<string, string>): Promise<void>;
  removeVolume(name: string): Promise<void>;
  /** A container that is never started: for reading an image's files or writing a volume's. */
  createContainer(spec: ContainerSpec): Promise<string>;
  /** Forced, with the anonymous volumes its image's VOLUME lines gave it (named ones stay). */
  removeContainer(id: string): Promise<void>;
  /** Whether a path exists in a container's filesystem (started or not). */
  pathExists(id: string, path: string): Promise<boolean>;
  /** Extracts a tar archive at `path` in a container (its volumes included). */
  putArchive(id: string, path: string, tar: Buffer): Promise<void>;
  /**
   * The regular file at `path` in a container's filesystem (started or not), through the archive
   * API, so no process runs in the container. `undefined` when nothing is at `path`. The last
   * component is not followed: a symbolic link there, a directory or any other non-regular file
   * is refused, as is a file over `maxBytes`, with a DockerError naming `path` (the caller names
   * the container). Directories above it resolve inside the container's root, as the engine does.
   */
  readFile(id: string, path: string, options: ReadFileOptions): Promise<Buffer | undefined>;
}

export interface ReadFileOptions {
  maxBytes: number;
  signal?: AbortSignal;
}

export interface VolumeDetails {
  name: string;
  driver: string;
  labels: Record<string, string>;
  /** Driver options it was created with (`type`, `device`, … for the local driver). */
  options: Record<string, string>;
  /** When the engine made it: a volume removed and made again under its name is another one. */
  createdAt: string;
}

export interface ContainerSpec {
  image: string;
  labels?: Record<string, string>;
  /** Named volumes, by mount point. */
  volumes?: Record<string, string>;
}

export interface CreateEngineOptions {
  env: Env;
  home: string;
  /** `--context NAME`; otherwise DOCKER_HOST, DOCKER_CONTEXT, then the CLI's current context. */
  context?: string;
}

/**
 * The engine client for every address the docker CLI takes (unix socket, tcp with or without
 * TLS, ssh through the user's OpenSSH), in the environment the docker CLI would use. Cheap to
 * build: it loads nothing beyond node:http, and connects on the first request.
 */
export function createDockerEngine(options: CreateEngineOptions): DockerEngine {
  const location = locateEngine(options);
  return new HttpEngine(toEngineEndpoint(location), location.host, options.env);
}
