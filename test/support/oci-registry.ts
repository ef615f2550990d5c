import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { freePort, stopProcess, waitForOutput } from "./remote-engine.js";

/**
 * A local OCI registry: Debian's `docker-registry` (distribution 2.x) on a loopback port, with a
 * test-owned config and storage in a temp dir, no auth. Addressed as `localhost:PORT`: the Dev
 * Containers CLI speaks plain HTTP to a registry whose host name is `localhost` (any other name,
 * 127.0.0.1 included, gets HTTPS).
 */
export interface OciRegistry extends AsyncDisposable {
  /** `localhost:PORT`, as a Feature reference starts. */
  host: string;
  /** The registry's log so far: one `response completed` line per request, with its URI. */
  log(): string;
}

export const REGISTRY_BINARY = "/usr/bin/docker-registry";

export async function startOciRegistry(): Promise<OciRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "sso-docker-registry-"));
  const port = await freePort();
  const config = join(dir, "config.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: info",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "data")}`,
      "http:",
      `  addr: 127.0.0.1:${String(port)}`,
      "",
    ].join("\n"),
  );
  const child = execa(REGISTRY_BINARY, ["serve", config], {
    stdin: "ignore",
    buffer: false,
    reject: false,
    forceKillAfterDelay: false,
  });
  let log = "";
  const keep = (chunk: Buffer) => (log += chunk.toString("utf8"));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const dispose = async () => {
    await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForOutput(
      child,
      new RegExp(`listening on 127\\.0\\.0\\.1:${String(port)}`),
      "docker-registry",
      20_000,
    );
  } catch (error) {
    await dispose();
    throw new Error(`${REGISTRY_BINARY} did not start (apt-get install docker-registry?)`, { cause: error });
  }
  return { host: `localhost:${String(port)}`, log: () => log, [Symbol.asyncDispose]: dispose };
}
