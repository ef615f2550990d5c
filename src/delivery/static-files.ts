import { createHash } from "node:crypto";
import { HELPER_SCRIPT } from "./helper-script.js";
import { renderAwsConfig, type ConfigTarget, type ProfileSettings } from "./profile-files.js";

/** The non-secret config and helper of a container, the same whether written at start, build or push time. */
export interface StaticFiles {
  /** The AWS config file; its first line is `stamp`. */
  config: string;
  helper: string;
  /**
   * A comment naming a hash of both files: the push compares it with the first line of the
   * container's config (one `read` builtin) and rewrites the files only when it differs.
   */
  stamp: string;
}

export function renderStaticFiles(profiles: readonly ProfileSettings[], target: ConfigTarget): StaticFiles {
  const config = renderAwsConfig(profiles, target);
  const hash = createHash("sha256").update(config).update("\0").update(HELPER_SCRIPT).digest("hex");
  const stamp = `# sso-docker ${hash.slice(0, 16)}`;
  return { config: `${stamp}\n${config}`, helper: HELPER_SCRIPT, stamp };
}
