import { logout } from "../../auth/logout.js";
import { createDeps } from "../../runtime/deps.js";
import type { GlobalOptions } from "../main.js";

export async function runLogout(globals: GlobalOptions): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const result = await logout(deps);
  process.stderr.write(
    result.tokens === 0
      ? "No cached SSO sessions to sign out of.\n"
      : `Signed out of ${result.tokens} SSO session(s); removed ${result.cachedCredentials} cached role credential file(s).\n`,
  );
}
