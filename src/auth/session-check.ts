import { readSsoToken, tokenCachePath } from "../aws-files/token-cache.js";
import { parseTimestamp } from "../runtime/time-format.js";
import type { Deps } from "../runtime/deps.js";
import { SessionExpiredError } from "../runtime/errors.js";
import { getAccessToken, REFRESH_WINDOW_MS } from "./access-token.js";
import type { SessionRef } from "./session-ref.js";

/**
 * Whether the session serves without a new sign-in: its cached access token outlives the refresh
 * window, or the refresh token gives it a new one (written back, as getAccessToken does). False
 * when only a sign-in helps. The common case reads one file and takes no lock, so that a
 * command which only needs to know (`sso-docker run`, before the agent takes over) stays cheap.
 */
export async function isSessionUsable(
  deps: Deps,
  session: SessionRef,
  oidcEndpoint: string | undefined,
): Promise<boolean> {
  const path = tokenCachePath(deps.paths.ssoCacheDir, session);
  const token = await readSsoToken(path, { profileName: session.profileName });
  const expiresAt = token === undefined ? undefined : parseTimestamp(token.expiresAt);
  if (
    token?.startUrl === session.startUrl &&
    expiresAt !== undefined &&
    expiresAt - deps.clock.now() > REFRESH_WINDOW_MS
  ) {
    return true;
  }
  try {
    await getAccessToken(deps, session, oidcEndpoint);
    return true;
  } catch (err) {
    if (err instanceof SessionExpiredError) return false;
    throw err;
  }
}
