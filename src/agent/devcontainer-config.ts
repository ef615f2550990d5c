import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { parse, type ParseError } from "jsonc-parser";
import { quoteForeign } from "../runtime/untrusted-text.js";
import { parseProfileList } from "./participation.js";

/**
 * Dev Containers bind a container to its user through the config it was made from: the Dev
 * Containers CLI labels each container with the host path of its devcontainer.json, and a file
 * of the agent's user that installs the sso-docker Feature with a profile list is that user's
 * grant of those profiles. The label is written by whoever creates the container, so the path is
 * a claim to check on this host, never trusted as is.
 */
export const CONFIG_FILE_LABEL = "devcontainer.config_file";

// Windows has no O_NONBLOCK (nor FIFOs at a path).
const { O_NONBLOCK = 0 } = constants as Partial<typeof constants>;

/** A devcontainer.json is small; a larger file is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Whether a `features` key names the sso-docker Feature: an OCI reference whose last path
 * segment is `sso-docker` (`ghcr.io/o/r/sso-docker:0`, `…@sha256:…`) or a local path ending in
 * `sso-docker` (`./sso-docker`).
 */
export function isSsoDockerFeature(id: string): boolean {
  let ref = id.trim();
  const at = ref.indexOf("@");
  if (at !== -1) ref = ref.slice(0, at);
  // A tag follows the last slash; a colon before it is a registry port (localhost:5000/…).
  const slash = ref.lastIndexOf("/");
  if (ref.lastIndexOf(":") > slash) ref = ref.slice(0, ref.lastIndexOf(":"));
  ref = ref.replace(/\/+$/, "");
  return ref.endsWith("/sso-docker");
}

/**
 * The profile list of every sso-docker Feature entry in a devcontainer.json (JSONC text): its
 * `profiles` option, comma-separated, "default" when absent. Throws when the text is not JSONC.
 */
export function featureProfileLists(text: string): string[][] {
  const errors: ParseError[] = [];
  const config = parse(text, errors, { allowTrailingComma: true }) as unknown;
  if (errors.length > 0 || typeof config !== "object" || config === null) {
    throw new Error("it is not a JSON (with comments) object");
  }
  const features = (config as { features?: unknown }).features;
  if (typeof features !== "object" || features === null) return [];
  const lists: string[][] = [];
  for (const [id, options] of Object.entries(features as Record<string, unknown>)) {
    if (!isSsoDockerFeature(id)) continue;
    const value = (options as { profiles?: unknown } | null | undefined)?.profiles;
    // A string or boolean entry is a version or an on switch: the option's default.
    if (value === undefined) lists.push(["default"]);
    else if (typeof value === "string") lists.push(parseProfileList(value));
  }
  return lists;
}

export type ConfigBinding = { bound: true } | { bound: false; why: string };

/**
 * Whether the devcontainer.json at `path` binds `profiles` (undefined: any) to the user `uid`:
 * an absolute path to a regular file of that user on this host whose sso-docker Feature entry
 * lists every one of them. Opened without blocking, so a FIFO named in a label cannot hang the
 * agent, and checked on the opened file, so it cannot be swapped between check and read.
 */
export async function checkConfigBinding(
  path: string,
  profiles: readonly string[] | undefined,
  uid: number | undefined,
): Promise<ConfigBinding> {
  const named = `devcontainer.json ${quoteForeign(path)}`;
  if (!isAbsolute(path)) return { bound: false, why: `${named} is not an absolute path` };
  let text: string;
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    return { bound: false, why: `${named} cannot be opened on this host (${code})` };
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { bound: false, why: `${named} is not a regular file` };
    if (uid !== undefined && stats.uid !== uid) {
      return { bound: false, why: `${named} belongs to uid ${String(stats.uid)}, not to this agent's user` };
    }
    if (stats.size > MAX_CONFIG_BYTES) return { bound: false, why: `${named} is larger than 1 MiB` };
    text = await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
  let lists: string[][];
  try {
    lists = featureProfileLists(text);
  } catch (err) {
    return { bound: false, why: `${named} cannot be parsed: ${(err as Error).message}` };
  }
  if (lists.length === 0) return { bound: false, why: `${named} does not install the sso-docker Feature` };
  if (profiles === undefined) return { bound: true };
  if (lists.some((list) => profiles.every((name) => list.includes(name)))) return { bound: true };
  const given = lists.map((list) => list.join(",")).join(" / ");
  return {
    bound: false,
    why: `${named} gives the sso-docker Feature the profiles ${quoteForeign(given)}, not ${quoteForeign(profiles.join(","))}`,
  };
}
