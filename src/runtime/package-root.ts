import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package's root directory. This module sits two levels below it wherever it runs: in
 * src/runtime (tests), dist/runtime (tsc output) and dist/bin (the bundled CLI).
 */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The built CLI, for commands that start another sso-docker process (agent --detach, demo). */
export const CLI_ENTRY = join(PACKAGE_ROOT, "dist", "bin", "main.js");
