import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "../runtime/env.js";
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
  home: string;
  /** A `--context` the user chose; beats DOCKER_HOST as in the docker CLI. */
  context?: string;
  /** Test seam for ~/.docker files. */
  readFile?: (path: string) => string;
}

const DEFAULT_HOST = "unix:///var/run/docker.sock";

/** Which engine the docker CLI would talk to: `--context`, DOCKER_HOST, DOCKER_CONTEXT, currentContext. */
export function locateEngine(options: LocateEngineOptions): EngineLocation {
  const { env } = options;
  const read = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const configDir = env["DOCKER_CONFIG"] ?? join(options.home, ".docker");
  const tlsVerify = env["DOCKER_TLS_VERIFY"] !== undefined && env["DOCKER_TLS_VERIFY"] !== "";
  const fromEnvHost = (): EngineLocation => {
    const certPath = env["DOCKER_CERT_PATH"] ?? configDir;
    const host = env["DOCKER_HOST"] ?? DEFAULT_HOST;
    return tlsVerify ? { host, source: "DOCKER_HOST", tlsDir: certPath } : { host, source: "DOCKER_HOST" };
  };

  if (options.context === undefined && env["DOCKER_HOST"]) return fromEnvHost();
  const name = options.context ?? env["DOCKER_CONTEXT"] ?? readCurrentContext(configDir, read);
  if (name === undefined || name === "default") {
    return env["DOCKER_HOST"] ? fromEnvHost() : { host: DEFAULT_HOST, source: "default" };
  }
  return readContext(configDir, name, read);
}

function readCurrentContext(configDir: string, read: (path: string) => string): string | undefined {
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

function readContext(configDir: string, name: string, read: (path: string) => string): EngineLocation {
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

function readTls(dir: string, file: string): Buffer | undefined {
  const path = join(dir, file);
  return existsSync(path) ? readFileSync(path) : undefined;
}

/** How to open a connection to the engine's API. */
export type EngineEndpoint =
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; host: string; port: number; tls?: TlsMaterial }
  | { kind: "ssh"; ssh: SshEndpoint };

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const ADDRESS_HINT = "Use unix:///path, tcp://host:port or ssh://[user@]host[:port].";

/** Where and how to connect for a location; reads its TLS material, if any. */
export function toEngineEndpoint(location: EngineLocation): EngineEndpoint {
  const { host } = location;
  if (host.startsWith("unix://") || host.startsWith("npipe://")) {
    const socketPath = host.slice(host.indexOf("://") + 3);
    return { kind: "unix", socketPath: socketPath === "" ? "/var/run/docker.sock" : socketPath };
  }
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
