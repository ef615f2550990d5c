import type Docker from "dockerode";
import { createRequire } from "node:module";
import type { Env } from "../runtime/env.js";
import { fileFromArchive, type ArchiveStream } from "./archive-file.js";
import { locateEngine, toDockerodeOptions } from "./engine-options.js";
import {
  execExitCode,
  toContainerDetails,
  toContainerSummary,
  toCreateBody,
  toImageDetails,
  toVolumeDetails,
} from "./engine-shapes.js";
import { toDockerError } from "./errors.js";
import { readExecStream, withinExecLimits } from "./exec-limits.js";
import { parseEventStream, type DockerEvent, type EventStream } from "./event-stream.js";

export type { DockerEvent } from "./event-stream.js";

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

/** Builds the engine client the docker CLI would use in this environment. */
export function createDockerEngine(options: CreateEngineOptions): DockerEngine {
  const location = locateEngine(options);
  const dockerodeOptions = toDockerodeOptions(location, options.env);
  if (dockerodeOptions.protocol === "ssh") hideDockerModemSshUrlWarning();
  const Dockerode = loadDockerode();
  return new DockerodeEngine(new Dockerode(dockerodeOptions), location.host);
}

/**
 * dockerode, with ssh2 and docker-modem, costs ~0.2 s of CPU to load: only when a client is
 * built, so that `sso-docker run`, which builds one only for ssh engines, never pays it otherwise.
 */
function loadDockerode(): typeof Docker {
  return createRequire(import.meta.url)("dockerode") as typeof Docker;
}

let sshWarningHidden = false;

/**
 * docker-modem formats "ssh:HOST:PORT…" into every ssh request's URL only to read the path back
 * (apocas/docker-modem#184, open in 5.0.7), and Node warns about it (DEP0170) on each user's
 * terminal. Only that warning is dropped; the request itself goes over the ssh agent.
 */
function hideDockerModemSshUrlWarning(): void {
  if (sshWarningHidden) return;
  sshWarningHidden = true;
  const emit = process.emitWarning.bind(process) as (warning: string | Error, ...rest: unknown[]) => void;
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === "object" ? (rest[0] as { code?: unknown } | null)?.code : rest[1];
    const text = typeof warning === "string" ? warning : warning.message;
    if (code === "DEP0170" && text.startsWith("The URL ssh:")) return;
    emit(warning, ...rest);
  };
}

export class DockerodeEngine implements DockerEngine {
  constructor(
    private readonly docker: Docker,
    readonly host: string,
  ) {}

  async inspectVolume(name: string): Promise<VolumeDetails | undefined> {
    try {
      return toVolumeDetails(await this.docker.getVolume(name).inspect());
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined;
      throw toDockerError(error, { host: this.host, action: `inspect volume ${name} on` });
    }
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    try {
      await this.docker.createVolume({ Name: name, Driver: "local", Labels: labels });
    } catch (error) {
      throw toDockerError(error, { host: this.host, action: `create volume ${name} on` });
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (error) {
      throw toDockerError(error, { host: this.host, action: `remove volume ${name} from` });
    }
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    try {
      return (await this.docker.createContainer(toCreateBody(spec))).id;
    } catch (error) {
      throw toDockerError(error, { host: this.host, action: `create a container of ${spec.image} on` });
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      // v: the anonymous volumes an image's VOLUME lines gave it go too; named ones stay.
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      throw toDockerError(error, { host: this.host, container: id, action: "remove" });
    }
  }

  async pathExists(id: string, path: string): Promise<boolean> {
    try {
      await this.docker.getContainer(id).infoArchive({ path });
      return true;
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return false;
      throw toDockerError(error, { host: this.host, container: id, action: `look up ${path} in` });
    }
  }

  async putArchive(id: string, path: string, tar: Buffer): Promise<void> {
    try {
      await this.docker.getContainer(id).putArchive(tar, { path });
    } catch (error) {
      throw toDockerError(error, { host: this.host, container: id, action: `write ${path} in` });
    }
  }

  async readFile(id: string, path: string, options: ReadFileOptions): Promise<Buffer | undefined> {
    const { signal } = options;
    try {
      const archive = (await this.docker.getContainer(id).getArchive({
        path,
        ...(signal === undefined ? {} : { abortSignal: signal }),
      })) as unknown as ArchiveStream;
      return await fileFromArchive(archive, path, options.maxBytes, signal);
    } catch (error) {
      // 404 is both "no such path" and "no such container": inspect tells them apart.
      if ((error as { statusCode?: unknown }).statusCode !== 404) {
        throw toDockerError(error, { host: this.host, container: id, action: `read ${path} in` });
      }
    }
    await this.inspectContainer(id);
    return undefined;
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw toDockerError(error, { host: this.host, action: "answer a ping from" });
    }
  }

  async inspectContainer(container: string): Promise<ContainerDetails> {
    try {
      return toContainerDetails(await this.docker.getContainer(container).inspect());
    } catch (error) {
      throw toDockerError(error, { host: this.host, container, action: "inspect" });
    }
  }

  async inspectImage(image: string): Promise<ImageDetails | undefined> {
    try {
      return toImageDetails(await this.docker.getImage(image).inspect());
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined;
      throw toDockerError(error, { host: this.host, action: `inspect image ${image} on` });
    }
  }

  async listContainers(
    options: { labels?: readonly string[]; all?: boolean } = {},
  ): Promise<ContainerSummary[]> {
    try {
      const filters = options.labels === undefined ? {} : { label: [...options.labels] };
      const list = await this.docker.listContainers({ all: options.all ?? false, filters });
      return list.map(toContainerSummary);
    } catch (error) {
      throw toDockerError(error, { host: this.host, action: "list containers on" });
    }
  }

  async exec(container: string, request: ExecRequest): Promise<ExecResult> {
    const { stdin } = request;
    try {
      return await withinExecLimits(container, request, async (signal, limits) => {
        const exec = await this.docker.getContainer(container).exec({
          Cmd: [...request.cmd],
          User: request.user,
          AttachStdin: stdin !== undefined,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          ...(request.env === undefined ? {} : { Env: [...request.env] }),
          abortSignal: signal,
        });
        const stream = await exec.start({
          hijack: true,
          stdin: stdin !== undefined,
          abortSignal: signal,
        });
        const output = await readExecStream(stream, {
          container,
          stdin,
          signal,
          maxOutputBytes: limits.maxOutputBytes,
        });
        return { exitCode: await execExitCode(() => exec.inspect({ abortSignal: signal })), ...output };
      });
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw toDockerError(error, { host: this.host, container, action: "run a command in" });
    }
  }

  async *events(options: EventsOptions = {}): AsyncGenerator<DockerEvent> {
    const { signal } = options;
    let stream: EventStream;
    try {
      stream = (await this.docker.getEvents({
        ...(options.since === undefined ? {} : { since: Math.floor(options.since / 1000) }),
        ...(options.until === undefined ? {} : { until: Math.ceil(options.until / 1000) }),
        ...(options.filters === undefined ? {} : { filters: JSON.stringify(options.filters) }),
      })) as unknown as EventStream;
    } catch (error) {
      throw toDockerError(error, { host: this.host, action: "stream events from" });
    }
    options.onOpen?.();
    const onAbort = () => {
      stream.destroy();
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      yield* parseEventStream(stream);
    } catch (error) {
      if (signal?.aborted) return;
      throw toDockerError(error, { host: this.host, action: "stream events from" });
    } finally {
      signal?.removeEventListener("abort", onAbort);
      stream.destroy();
    }
  }
}
