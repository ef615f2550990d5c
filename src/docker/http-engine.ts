import type { ClientRequest, IncomingMessage, RequestOptions } from "node:http";
import type { Duplex } from "node:stream";
import type { Env } from "../runtime/env.js";
import { nodeHttp } from "../runtime/node-http.js";
import { fileFromArchive } from "./archive-file.js";
import type {
  ContainerDetails,
  ContainerSummary,
  DockerEngine,
  EventsOptions,
  ExecRequest,
  ExecResult,
  ContainerSpec,
  ReadFileOptions,
  ImageDetails,
  VolumeDetails,
} from "./engine.js";
import type { EngineEndpoint } from "./engine-options.js";
import {
  type ContainerInfo,
  type ContainerInspectInfo,
  execExitCode,
  type ImageInspectInfo,
  toContainerDetails,
  toContainerSummary,
  toCreateBody,
  toImageDetails,
  toVolumeDetails,
  type VolumeInfo,
} from "./engine-shapes.js";
import { type EngineVersion, toEngineVersion, type VersionInfo } from "./engine-version.js";
import { toDockerError } from "./errors.js";
import { readExecStream, withinExecLimits } from "./exec-limits.js";
import { parseEventStream, type DockerEvent } from "./event-stream.js";
import { SshConnectionPool } from "./ssh-dialer.js";
import { untilAborted } from "../runtime/until-aborted.js";

/**
 * Without TLS there is no server name to send, but node:http's agent still works one out from the
 * host with `net.isIP`, whose first call compiles a large IPv6 pattern: 6–30 ms of CPU on a
 * 2-core machine, in the first request of every `sso-docker run`. An empty one skips that.
 */
const NO_SNI = { servername: "" } as RequestOptions;
const httpRequest = nodeHttp.request;

/**
 * The engine API over `node:http`, the one client for every engine address: a unix socket, TCP
 * (plain or TLS), or ssh, where each connection is the user's `ssh` running `docker system
 * dial-stdio` (ssh-dialer.ts). It loads nothing but Node's own modules, so that `sso-docker run`,
 * which must add little to `docker run`'s time, pays next to nothing for it.
 */
export class HttpEngine implements DockerEngine {
  private readonly connection: RequestOptions;
  private readonly send: typeof httpRequest;

  constructor(
    endpoint: EngineEndpoint,
    readonly host: string,
    env: Env,
  ) {
    switch (endpoint.kind) {
      case "unix":
        this.connection = { socketPath: endpoint.socketPath, ...NO_SNI };
        this.send = httpRequest;
        break;
      case "tcp":
        if (endpoint.tls === undefined) {
          this.connection = { host: endpoint.host, port: endpoint.port, ...NO_SNI };
          this.send = httpRequest;
        } else {
          this.connection = { host: endpoint.host, port: endpoint.port, ...endpoint.tls };
          // Loaded only for TLS engines: node:https (with node:tls) costs ~10 ms.
          this.send = process.getBuiltinModule("node:https").request;
        }
        break;
      case "ssh":
        // The host only names the pool's connections; ssh decides where they go.
        this.connection = { host: "docker", agent: new SshConnectionPool(endpoint.ssh, env), ...NO_SNI };
        this.send = httpRequest;
        break;
    }
  }

  async ping(): Promise<void> {
    await this.json("GET", "/_ping", { action: "answer a ping from" }, undefined, "text");
  }

  async version(): Promise<EngineVersion> {
    return toEngineVersion(
      await this.json<VersionInfo>("GET", "/version", { action: "report the version of" }),
    );
  }

  async inspectContainer(container: string): Promise<ContainerDetails> {
    const info = await this.json<ContainerInspectInfo>(
      "GET",
      `/containers/${encodeURIComponent(container)}/json`,
      { container, action: "inspect" },
    );
    return toContainerDetails(info);
  }

  async inspectImage(image: string): Promise<ImageDetails | undefined> {
    try {
      return toImageDetails(
        await this.request<ImageInspectInfo>("GET", `/images/${encodeURIComponent(image)}/json`),
      );
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined;
      throw toDockerError(error, { host: this.host, action: `inspect image ${image} on` });
    }
  }

  async listContainers(
    options: { labels?: readonly string[]; all?: boolean } = {},
  ): Promise<ContainerSummary[]> {
    const query = new URLSearchParams({ all: String(options.all ?? false) });
    if (options.labels !== undefined) query.set("filters", JSON.stringify({ label: options.labels }));
    const list = await this.json<ContainerInfo[]>("GET", `/containers/json?${query.toString()}`, {
      action: "list containers on",
    });
    return list.map(toContainerSummary);
  }

  async exec(container: string, request: ExecRequest): Promise<ExecResult> {
    const context = { container, action: "run a command in" };
    const { stdin } = request;
    try {
      return await withinExecLimits(container, request, async (signal, limits) => {
        const created = await untilAborted(
          this.json<{ Id: string }>("POST", `/containers/${encodeURIComponent(container)}/exec`, context, {
            Cmd: [...request.cmd],
            User: request.user,
            AttachStdin: stdin !== undefined,
            AttachStdout: true,
            AttachStderr: true,
            Tty: false,
            ...(request.env === undefined ? {} : { Env: [...request.env] }),
          }),
          signal,
        );
        const socket = await this.upgrade(
          `/exec/${created.Id}/start`,
          { Detach: false, Tty: false },
          context,
          signal,
        );
        const output = await readExecStream(socket, {
          container,
          stdin,
          signal,
          maxOutputBytes: limits.maxOutputBytes,
        });
        const exitCode = await execExitCode(() =>
          untilAborted(
            this.json<{ Running: boolean; ExitCode: number | null }>(
              "GET",
              `/exec/${created.Id}/json`,
              context,
            ),
            signal,
          ),
        );
        return { exitCode, ...output };
      });
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw toDockerError(error, { host: this.host, ...context });
    }
  }

  async *events(options: EventsOptions = {}): AsyncGenerator<DockerEvent> {
    const query = new URLSearchParams();
    if (options.since !== undefined) query.set("since", String(Math.floor(options.since / 1000)));
    if (options.until !== undefined) query.set("until", String(Math.ceil(options.until / 1000)));
    if (options.filters !== undefined) query.set("filters", JSON.stringify(options.filters));
    const context = { action: "stream events from" };
    const { signal } = options;
    let req: ClientRequest | undefined;
    const onAbort = () => req?.destroy();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) return;
      const opened = this.open("GET", `/events?${query.toString()}`, undefined);
      req = opened.req;
      const res = await opened.response;
      if (res.statusCode !== 200) throw await httpError(res);
      options.onOpen?.();
      yield* parseEventStream(res);
    } catch (error) {
      if (signal?.aborted) return;
      throw toDockerError(error, { host: this.host, ...context });
    } finally {
      signal?.removeEventListener("abort", onAbort);
      req?.destroy();
    }
  }

  async inspectVolume(name: string): Promise<VolumeDetails | undefined> {
    try {
      return toVolumeDetails(await this.request<VolumeInfo>("GET", `/volumes/${encodeURIComponent(name)}`));
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined;
      throw toDockerError(error, { host: this.host, action: `inspect volume ${name} on` });
    }
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    await this.json(
      "POST",
      "/volumes/create",
      { action: `create volume ${name} on` },
      {
        Name: name,
        Driver: "local",
        Labels: labels,
      },
    );
  }

  async removeVolume(name: string): Promise<void> {
    await this.json(
      "DELETE",
      `/volumes/${encodeURIComponent(name)}`,
      { action: `remove volume ${name} from` },
      undefined,
      "text",
    );
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const created = await this.json<{ Id: string }>(
      "POST",
      "/containers/create",
      { action: `create a container of ${spec.image} on` },
      toCreateBody(spec),
    );
    return created.Id;
  }

  async removeContainer(id: string): Promise<void> {
    await this.json(
      "DELETE",
      // v: the anonymous volumes an image's VOLUME lines gave it go too; named ones stay.
      `/containers/${encodeURIComponent(id)}?force=true&v=true`,
      { container: id, action: "remove" },
      undefined,
      "text",
    );
  }

  async pathExists(id: string, path: string): Promise<boolean> {
    const query = new URLSearchParams({ path });
    try {
      await this.request(
        "HEAD",
        `/containers/${encodeURIComponent(id)}/archive?${query.toString()}`,
        undefined,
        "text",
      );
      return true;
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return false;
      throw toDockerError(error, { host: this.host, container: id, action: `look up ${path} in` });
    }
  }

  async putArchive(id: string, path: string, tar: Buffer): Promise<void> {
    const query = new URLSearchParams({ path });
    await this.json(
      "PUT",
      `/containers/${encodeURIComponent(id)}/archive?${query.toString()}`,
      { container: id, action: `write ${path} in` },
      tar,
      "text",
    );
  }

  async readFile(id: string, path: string, options: ReadFileOptions): Promise<Buffer | undefined> {
    const context = { container: id, action: `read ${path} in` };
    const query = new URLSearchParams({ path });
    const { signal } = options;
    const { req, response } = this.open(
      "GET",
      `/containers/${encodeURIComponent(id)}/archive?${query.toString()}`,
      undefined,
    );
    const onAbort = () => req.destroy(signal?.reason as Error);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const res = await response;
      if (res.statusCode === 200) return await fileFromArchive(res, path, options.maxBytes, signal);
      const error = await httpError(res);
      // 404 is both "no such path" and "no such container": inspect tells them apart.
      if (res.statusCode !== 404) throw error;
    } catch (error) {
      throw toDockerError(error, { host: this.host, ...context });
    } finally {
      signal?.removeEventListener("abort", onAbort);
      req.destroy();
    }
    await this.inspectContainer(id);
    return undefined;
  }

  /** One request, its failures as DockerErrors about `context`. */
  private async json<T>(
    method: string,
    path: string,
    context: { container?: string; action: string },
    body?: unknown,
    answer: "json" | "text" = "json",
  ): Promise<T> {
    try {
      return await this.request<T>(method, path, body, answer);
    } catch (error) {
      throw toDockerError(error, { host: this.host, ...context });
    }
  }

  /** One request with a JSON body, answered with JSON (or text); errors carry `statusCode`. */
  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
    answer: "json" | "text" = "json",
  ): Promise<T> {
    const res = await this.open(method, path, body).response;
    const text = await readBody(res);
    if ((res.statusCode ?? 500) >= 300) throw errorFrom(res.statusCode ?? 500, text);
    return (answer === "json" ? JSON.parse(text) : text) as T;
  }

  private open(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): { req: ClientRequest; response: Promise<IncomingMessage> } {
    const payload =
      body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const type = Buffer.isBuffer(body) ? "application/x-tar" : "application/json";
    // Without a pool of its own (ssh has one), no connection outlives the call and keeps a
    // short-lived CLI waiting.
    const req = this.send({
      agent: false,
      ...this.connection,
      method,
      path,
      headers: {
        ...(payload === undefined ? {} : { "Content-Type": type, "Content-Length": payload.length }),
        ...headers,
      },
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once("response", resolve);
      req.once("error", reject);
    });
    req.end(payload);
    return { req, response };
  }

  /**
   * POST that the engine answers with 101 and then a raw two-way stream (exec start). Aborting
   * `signal` closes the request, and a stream that arrives after all the same.
   */
  private async upgrade(
    path: string,
    body: unknown,
    context: { container?: string; action: string },
    signal: AbortSignal,
  ): Promise<Duplex> {
    const { req, response } = this.open("POST", path, body, { Connection: "Upgrade", Upgrade: "tcp" });
    const onAbort = () => req.destroy();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await new Promise<Duplex>((resolve, reject) => {
        req.once("upgrade", (_res: IncomingMessage, socket: Duplex, head: Buffer) => {
          if (signal.aborted) {
            socket.destroy();
            reject(signal.reason as Error);
            return;
          }
          if (head.length > 0) socket.unshift(head);
          resolve(socket);
        });
        response.then(async (res) => {
          reject(await httpError(res));
        }, reject);
        if (signal.aborted) reject(signal.reason as Error);
      });
    } catch (error) {
      throw toDockerError(error, { host: this.host, ...context });
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/** `promise`, or the signal's reason as soon as it aborts (the request itself runs to its end). */

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** An engine's error answer, with `statusCode` for `toDockerError` to classify it by. */
function errorFrom(statusCode: number, text: string): Error {
  let message = text.trim();
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    // not JSON: keep the text
  }
  return Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: message });
}

async function httpError(res: IncomingMessage): Promise<Error> {
  return errorFrom(res.statusCode ?? 500, await readBody(res));
}
