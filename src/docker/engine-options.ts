import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "../runtime/env.js";
import { pathsFor } from "../runtime/home-dir.js";
import { DockerError } from "../runtime/errors.js";
import { parseSshEndpoint, type SshEndpoint } from "./ssh-endpoint.js";

export interface EngineLocation {
  /** The engine address as the docker CLI would show it, for messages: `unix:///var/run/docker.sock`. */
  host: string;
  /** Where it came from: `DOCKER_HOST`, `context NAME`, or `default`. */
  source: string;
  /** A TLS material directory (ca.pem, cert.pem, key.pem), when the engine wants TLS. */
  tlsDir?: string;
}

export interface LocateEngineOptions {
  env: Env;
  /** The user's home (runtime/home-dir.ts): `~/.docker`, `%USERPROFILE%\.docker` on Windows. */
  home: string;
  /** A `--context` the user chose; beats DOCKER_HOST as in the docker CLI. */
  context?: string;
  /** Decides the default engine and the path rules; default: this process's platform. */
  platform?: NodeJS.Platform;
  /** Test seam for ~/.docker files. */
  readFile?: (path: string) => string;
}

/** The docker CLI's default engine (docker/cli opts/hosts_unix.go, hosts_windows.go). */
export function defaultEngineHost(platform: NodeJS.Platform): string {
  return platform === "win32" ? "npipe:////./pipe/docker_engine" : "unix:///var/run/docker.sock";
}

/**
 * Which engine the docker CLI would talk to: `--context`, DOCKER_HOST, DOCKER_CONTEXT, the
 * `currentContext` of config.json in DOCKER_CONFIG or `~/.docker`, else the platform's default
 * (docker/cli cli/command/cli.go resolveContextName, cli/config/config.go Dir).
 */
export function locateEngine(options: LocateEngineOptions): EngineLocation {
  const { env } = options;
  const platform = options.platform ?? process.platform;
  const path = pathsFor(platform);
  const join: Join = (...parts) => path.join(...parts);
  const read = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const configDir = env["DOCKER_CONFIG"] || join(options.home, ".docker");
  const defaultHost = defaultEngineHost(platform);
  const tlsVerify = env["DOCKER_TLS_VERIFY"] !== undefined && env["DOCKER_TLS_VERIFY"] !== "";
  const fromEnvHost = (): EngineLocation => {
    const certPath = env["DOCKER_CERT_PATH"] ?? configDir;
    const host = env["DOCKER_HOST"] ?? defaultHost;
    return tlsVerify ? { host, source: "DOCKER_HOST", tlsDir: certPath } : { host, source: "DOCKER_HOST" };
  };

  if (options.context === undefined && env["DOCKER_HOST"]) return fromEnvHost();
  const name = options.context ?? (env["DOCKER_CONTEXT"] || readCurrentContext(configDir, read, join));
  if (name === undefined || name === "default") {
    return env["DOCKER_HOST"] ? fromEnvHost() : { host: defaultHost, source: "default" };
  }
  return readContext(configDir, name, read, join);
}

type Join = (...parts: string[]) => string;

function readCurrentContext(
  configDir: string,
  read: (path: string) => string,
  join: Join,
): string | undefined {
  let text: string;
  try {
    text = read(join(configDir, "config.json"));
  } catch {
    return undefined; // no docker config at all: the default engine
  }
  try {
    const parsed = JSON.parse(text) as { currentContext?: unknown };
    return typeof parsed.currentContext === "string" && parsed.currentContext !== ""
      ? parsed.currentContext
      : undefined;
  } catch (cause) {
    throw new DockerError(`${join(configDir, "config.json")} is not valid JSON.`, {
      cause,
      hint: "Fix or remove that file, or set DOCKER_HOST.",
    });
  }
}

function readContext(
  configDir: string,
  name: string,
  read: (path: string) => string,
  join: Join,
): EngineLocation {
  // The CLI stores contexts under the SHA-256 of their name.
  const id = createHash("sha256").update(name).digest("hex");
  const metaPath = join(configDir, "contexts", "meta", id, "meta.json");
  let host: unknown;
  try {
    const meta = JSON.parse(read(metaPath)) as { Endpoints?: { docker?: { Host?: unknown } } };
    host = meta.Endpoints?.docker?.Host;
  } catch (cause) {
    throw new DockerError(`Docker context "${name}" was not found (${metaPath}).`, {
      cause,
      hint: "Run `docker context ls` and pick one with `docker context use NAME`.",
    });
  }
  if (typeof host !== "string" || host === "") {
    throw new DockerError(`Docker context "${name}" has no docker endpoint.`, {
      hint: `Run \`docker context inspect ${name}\`.`,
    });
  }
  const tlsDir = join(configDir, "contexts", "tls", id, "docker");
  const hasTls = existsSync(join(tlsDir, "ca.pem")) || existsSync(join(tlsDir, "cert.pem"));
  return hasTls ? { host, source: `context ${name}`, tlsDir } : { host, source: `context ${name}` };
}

const DEFAULT_PIPE = "\\\\.\\pipe\\docker_engine";

/**
 * `npipe:////./pipe/docker_engine` → `\\.\pipe\docker_engine`, the form node:net opens; a bare
 * `npipe://` is the default pipe, as in the docker CLI (opts/hosts.go parseDockerDaemonHost).
 */
function namedPipePath(location: EngineLocation, platform: NodeJS.Platform): string {
  const refuse = (what: string, hint: string) =>
    new DockerError(`The Docker engine address "${location.host}" (${location.source}) ${what}.`, { hint });
  if (platform !== "win32") {
    throw refuse(
      "is a Windows named pipe",
      "Named pipes exist only on Windows: use unix:///path or tcp://host:port.",
    );
  }
  const rest = location.host.slice("npipe://".length);
  if (rest === "") return DEFAULT_PIPE;
  const path = rest.replaceAll("/", "\\");
  if (!/^\\\\[.?]\\pipe\\[^\\]+$/i.test(path)) {
    throw refuse("is not a named pipe", "Use npipe:////./pipe/NAME, e.g. npipe:////./pipe/docker_engine.");
  }
  return path;
}

function readTls(dir: string, file: string): Buffer | undefined {
  const path = join(dir, file);
  return existsSync(path) ? readFileSync(path) : undefined;
}

/** How to open a connection to the engine's API. */
export type EngineEndpoint =
  /** A unix socket, or on Windows a named pipe (`\\.\pipe\NAME`): node:net opens both by path. */
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; host: string; port: number; tls?: TlsMaterial }
  | { kind: "ssh"; ssh: SshEndpoint };

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const ADDRESS_HINT =
  "Use unix:///path, npipe:////./pipe/NAME (Windows), tcp://host:port or ssh://[user@]host[:port].";

/** Where and how to connect for a location; reads its TLS material, if any. */
export function toEngineEndpoint(
  location: EngineLocation,
  platform: NodeJS.Platform = process.platform,
): EngineEndpoint {
  const { host } = location;
  if (host.startsWith("unix://")) {
    const socketPath = host.slice("unix://".length);
    return { kind: "unix", socketPath: socketPath === "" ? "/var/run/docker.sock" : socketPath };
  }
  if (host.startsWith("npipe://")) return { kind: "unix", socketPath: namedPipePath(location, platform) };
  let url: URL;
  try {
    url = new URL(host.includes("://") ? host : `tcp://${host}`);
  } catch (cause) {
    throw new DockerError(`The Docker engine address "${host}" (${location.source}) is not a valid URL.`, {
      cause,
      hint: ADDRESS_HINT,
    });
  }
  if (url.protocol === "ssh:") return { kind: "ssh", ssh: parseSshEndpoint(url, location) };
  if (url.protocol !== "tcp:" && url.protocol !== "http:" && url.protocol !== "https:") {
    throw new DockerError(`Unsupported Docker engine address "${host}" (${location.source}).`, {
      hint: ADDRESS_HINT,
    });
  }
  const tls = location.tlsDir !== undefined || url.protocol === "https:" || url.port === "2376";
  const port = url.port === "" ? (tls ? 2376 : 2375) : Number(url.port);
  if (!tls) return { kind: "tcp", host: url.hostname, port };
  const material: TlsMaterial = {};
  if (location.tlsDir !== undefined) {
    const ca = readTls(location.tlsDir, "ca.pem");
    const cert = readTls(location.tlsDir, "cert.pem");
    const key = readTls(location.tlsDir, "key.pem");
    if (ca) material.ca = ca;
    if (cert) material.cert = cert;
    if (key) material.key = key;
  }
  return { kind: "tcp", host: url.hostname, port, tls: material };
}
