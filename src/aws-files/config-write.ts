import { readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { ConfigError, SsoDockerError } from "../runtime/errors.js";
import { errnoCode, withCacheLock, writeFileAtomically } from "./cache-files.js";
import type { ConfigSectionUpdate } from "./config-edit.js";
import { upsertConfigSections } from "./config-edit.js";

async function existingMode(path: string): Promise<number | undefined> {
  try {
    await stat(path);
    return undefined; // write-file-atomic copies the existing file's mode (and owner)
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return 0o600;
    throw err;
  }
}

function writeError(path: string, err: unknown): ConfigError {
  return new ConfigError(`Cannot write the AWS config file ${path} (${errnoCode(err)}).`, {
    hint: `Check its owner and mode: ls -l ${path} ${dirname(path)}`,
    cause: err,
  });
}

/**
 * Replaces the config file atomically under its lock: ~/.aws created 0700 if missing, an
 * existing file keeps its mode, a new one gets 0600, a symlinked file is written through.
 */
export async function writeAwsConfig(path: string, text: string): Promise<void> {
  try {
    await withCacheLock(path, async () => writeFileAtomically(path, text, await existingMode(path)));
  } catch (err) {
    if (err instanceof SsoDockerError) throw err;
    throw writeError(path, err);
  }
}

/**
 * Read → upsert → write under one lock, so two `sso-docker configure` runs (or one racing
 * an editor save) cannot lose each other's sections. Returns the new text.
 */
export async function updateAwsConfig(
  path: string,
  updates: readonly ConfigSectionUpdate[],
): Promise<string> {
  try {
    return await withCacheLock(path, async () => {
      let original = "";
      try {
        original = await readFile(path, "utf8");
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") {
          throw new ConfigError(`The AWS config file ${path} cannot be read (${errnoCode(err)}).`, {
            hint: `Check it with: ls -l ${path}`,
            cause: err,
          });
        }
      }
      const updated = upsertConfigSections(original, updates);
      if (updated !== original) await writeAwsConfig(path, updated);
      return updated;
    });
  } catch (err) {
    if (err instanceof SsoDockerError) throw err;
    throw writeError(path, err);
  }
}
