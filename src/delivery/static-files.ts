import { createHash } from "node:crypto";
import { HELPER_SCRIPT } from "./helper-script.js";
import { renderAwsConfig, type ProfileSettings } from "./profile-files.js";

/** The non-secret files under /etc/sso-docker, the same whether pre-seeded or pushed. */
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

export function renderStaticFiles(profiles: readonly ProfileSettings[], secretDir: string): StaticFiles {
  const config = renderAwsConfig(profiles, secretDir);
  const hash = createHash("sha256").update(config).update("\0").update(HELPER_SCRIPT).digest("hex");
  const stamp = `# sso-docker ${hash.slice(0, 16)}`;
  return { config: `${stamp}\n${config}`, helper: HELPER_SCRIPT, stamp };
}
