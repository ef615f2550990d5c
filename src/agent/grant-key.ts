import { constants } from "node:fs";
import { link, mkdir, open, unlink, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Env } from "../runtime/env.js";
import { ConfigError } from "../runtime/errors.js";
import { agentStateDir } from "./agent-files.js";

/**
 * The host user's grant key: 32 random bytes that sign which containers this user's sso-docker
 * supplies (grant.ts). Whoever reads it can grant themselves this user's profiles, so it is
 * created 0600 and refused when anyone else could read it or it belongs to another user.
 */
export const GRANT_KEY_BYTES = 32;

// Windows has no O_NOFOLLOW (nor links a user plants there).
const { O_NOFOLLOW = 0 } = constants as Partial<typeof constants>;

export function grantKeyPath(env: Env, home: string): string {
  return join(agentStateDir(env, home), "grant.key");
}

/**
 * Reads the key, creating it on first use. Two processes creating it at once end up with the
 * same key: each writes its own temporary file, and only one of them can link it into place.
 */
export async function loadGrantKey(
  env: Env,
  home: string,
  uid: number | undefined = process.getuid?.(),
): Promise<Buffer> {
  const path = grantKeyPath(env, home);
  const existing = await readGrantKey(path, uid);
  if (existing !== undefined) return existing;
  const dir = agentStateDir(env, home);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.grant.key.${randomBytes(6).toString("hex")}.tmp`);
  await writeFile(temp, randomBytes(GRANT_KEY_BYTES), { mode: 0o600, flag: "wx" });
  try {
    // link() fails with EEXIST if another process got there first: then theirs is the key.
    await link(temp, path).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  const created = await readGrantKey(path, uid);
  if (created === undefined) throw keyError(path, "vanished while it was being created", `ls -la ${dir}`);
  return created;
}

function keyError(path: string, problem: string, hint: string): ConfigError {
  return new ConfigError(`The grant key ${path} ${problem}.`, { hint });
}

const REMOVE_HINT = (path: string) =>
  `Remove it (\`rm ${path}\`): sso-docker makes a new one, and containers granted with the old one need a new grant (\`sso-docker grant\`).`;

/** The key, or undefined when there is none yet; never follows a link planted in its place. */
export async function readGrantKey(path: string, uid: number | undefined): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw keyError(path, "is a symbolic link", REMOVE_HINT(path));
    throw new ConfigError(`The grant key ${path} cannot be read (${code ?? "unknown error"}).`, {
      hint: `Check it with: ls -l ${path}`,
      cause: err,
    });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw keyError(path, "is not a regular file", REMOVE_HINT(path));
    if (uid !== undefined && stats.uid !== uid) {
      throw keyError(
        path,
        `belongs to uid ${String(stats.uid)}, not to you (uid ${String(uid)})`,
        REMOVE_HINT(path),
      );
    }
    if (uid !== undefined && (stats.mode & 0o077) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, "0");
      throw keyError(path, `has mode ${mode}, which lets other users read it`, `chmod 600 ${path}`);
    }
    const key = await handle.readFile();
    if (key.length !== GRANT_KEY_BYTES) {
      throw keyError(
        path,
        `holds ${String(key.length)} bytes, not ${String(GRANT_KEY_BYTES)}`,
        REMOVE_HINT(path),
      );
    }
    return key;
  } finally {
    await handle.close();
  }
}
