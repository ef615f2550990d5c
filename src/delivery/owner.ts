import { createHash } from "node:crypto";
import { hostname } from "node:os";

/** The file in a container's secret dir naming who pushed its credentials (not a secret). */
export const OWNER_FILE_NAME = ".owner";

/**
 * Who pushes: this machine, user and HOME (whose SSO sessions the credentials come from), as a
 * short hash. `sso-docker logout` empties only the containers with this mark, so on a shared
 * engine it leaves other people's alone.
 */
export function ownerId(
  home: string,
  host: string = hostname(),
  uid: number = process.getuid?.() ?? -1,
): string {
  return createHash("sha256")
    .update(`${host}\0${String(uid)}\0${home}`)
    .digest("hex")
    .slice(0, 20);
}
