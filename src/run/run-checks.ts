import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { agentStateDir } from "../agent/agent-files.js";
import type { VolumeDetails } from "../docker/engine.js";
import type { Env } from "../runtime/env.js";

/**
 * What earlier runs found out with a probe container and cannot have changed since, so the next
 * run of the same image and profiles needs none: images that have /bin/sh, by ID (a hash of the
 * image's content: a rebuilt or re-pulled image is another ID), and config volumes that hold
 * their files, by engine, name and creation time (one removed and made again is another). No
 * secrets; a record lost (two runs writing at once) costs one probe.
 */
export interface RunChecks {
  shells: readonly string[];
  volumes: readonly string[];
}

/** Most recent first; older ones go. */
const MAX_ENTRIES = 64;

export function runChecksFile(env: Env, home: string): string {
  return join(agentStateDir(env, home), "run-checks.json");
}

export function volumeCheckKey(engineHost: string, volume: VolumeDetails): string | undefined {
  // An engine that does not say when a volume was made cannot tell a new one from an old one.
  return volume.createdAt === "" ? undefined : `${engineHost} ${volume.name} ${volume.createdAt}`;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** The records, or none when the file is missing or not ours as written. */
export async function readRunChecks(file: string): Promise<RunChecks> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as { shells?: unknown; volumes?: unknown };
    return { shells: strings(parsed.shells), volumes: strings(parsed.volumes) };
  } catch {
    return { shells: [], volumes: [] };
  }
}

function withEntry(list: readonly string[], entry: string | undefined): string[] {
  if (entry === undefined) return [...list];
  return [entry, ...list.filter((e) => e !== entry)].slice(0, MAX_ENTRIES);
}

/** Adds what a probe found, replacing the file whole (temp file and rename), mode 0600. */
export async function recordRunChecks(
  file: string,
  found: { shell?: string | undefined; volume?: string | undefined },
): Promise<void> {
  const before = await readRunChecks(file);
  const after: RunChecks = {
    shells: withEntry(before.shells, found.shell),
    volumes: withEntry(before.volumes, found.volume),
  };
  await mkdir(join(file, ".."), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(temp, JSON.stringify(after) + "\n", { mode: 0o600, flag: "wx" });
  await rename(temp, file).catch(async (error: unknown) => {
    await unlink(temp).catch(() => undefined);
    throw error;
  });
}
