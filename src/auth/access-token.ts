import type { Deps } from "../runtime/deps.js";
import { SessionExpiredError } from "../runtime/errors.js";
import { isoSeconds, parseTimestamp } from "../runtime/time-format.js";
import { readSsoToken, tokenCachePath, withCacheLock, writeSsoToken } from "../aws-files/token-cache.js";
import type { SsoToken } from "../aws-files/token-cache.js";
import { createOidcClient } from "./sso-clients.js";
import { isTransientServiceError } from "./service-errors.js";
import type { SessionRef } from "./session-ref.js";
import { describeSession, loginHint } from "./session-ref.js";

/** The AWS CLI refreshes when less than this remains; so do we. */
export const REFRESH_WINDOW_MS = 15 * 60_000;
const MIN_REFRESH_INTERVAL_MS = 60_000;
const lastRefreshAttempt = new Map<string, number>();

export interface AccessToken {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Whether a refresh token can extend the session without a browser. */
  refreshable: boolean;
}

export function isRefreshable(token: SsoToken, now: number): boolean {
  return Boolean(
    token.refreshToken &&
    token.clientId &&
    token.clientSecret &&
    token.registrationExpiresAt &&
    (parseTimestamp(token.registrationExpiresAt) ?? 0) > now,
  );
}

/**
 * A valid access token for the session, from the cache file, refreshed with the refresh
 * token (and written back) when less than 15 minutes remain. Read, refresh and write happen
 * under one lock so two processes never spend the same refresh token.
 */
export async function getAccessToken(
  deps: Deps,
  session: SessionRef,
  oidcEndpoint: string | undefined,
): Promise<AccessToken> {
  const path = tokenCachePath(deps.paths.ssoCacheDir, session);
  return withCacheLock(path, async () => {
    const token = await readSsoToken(path, { profileName: session.profileName });
    const now = deps.clock.now();
    if (!token) {
      throw new SessionExpiredError(
        `No SSO login found for profile ${session.profileName} (${describeSession(session)}).`,
        {
          hint: loginHint(session),
        },
      );
    }
    if (token.startUrl !== session.startUrl) {
      // A token for another start URL under the same session name (the session was re-pointed).
      throw new SessionExpiredError(
        `The cached SSO login for profile ${session.profileName} is for ${token.startUrl}, not ${session.startUrl}.`,
        { hint: loginHint(session) },
      );
    }
    // readSsoToken has checked that it parses.
    const expiresAt = parseTimestamp(token.expiresAt) ?? 0;
    const refreshable = isRefreshable(token, now);
    // Like botocore, attempt a refresh at most once a minute per process: a token whose
    // lifetime is shorter than the window would otherwise be refreshed on every call.
    const lastAttempt = lastRefreshAttempt.get(path);
    const tooSoon = lastAttempt !== undefined && now - lastAttempt < MIN_REFRESH_INTERVAL_MS;
    if (expiresAt - now > REFRESH_WINDOW_MS || !refreshable || (tooSoon && expiresAt > now)) {
      if (expiresAt > now) return { accessToken: token.accessToken, expiresAt, refreshable };
      throw new SessionExpiredError(
        `The SSO session associated with profile ${session.profileName} has expired (${describeSession(session)}).`,
        { hint: loginHint(session) },
      );
    }
    lastRefreshAttempt.set(path, now);
    try {
      const refreshed = await refreshToken(deps, session, token, oidcEndpoint);
      await writeSsoToken(path, refreshed);
      deps.logger.debug(`refreshed the SSO token of ${describeSession(session)}`);
      return {
        accessToken: refreshed.accessToken,
        expiresAt: parseTimestamp(refreshed.expiresAt) ?? 0,
        refreshable: true,
      };
    } catch (err) {
      // A refused refresh ends the session once the access token runs out; until then it still works.
      if (expiresAt > now) {
        deps.logger.warn(
          `could not refresh the SSO token of ${describeSession(session)}${isTransientServiceError(err) ? " (service unavailable)" : ""}; it expires at ${isoSeconds(expiresAt)}`,
        );
        return { accessToken: token.accessToken, expiresAt, refreshable: false };
      }
      throw new SessionExpiredError(
        `The SSO session associated with profile ${session.profileName} has expired and could not be refreshed.`,
        { hint: loginHint(session), cause: err },
      );
    }
  });
}

async function refreshToken(
  deps: Deps,
  session: SessionRef,
  token: SsoToken,
  oidcEndpoint: string | undefined,
): Promise<SsoToken> {
  const { CreateTokenCommand } = await import("@aws-sdk/client-sso-oidc");
  const client = await createOidcClient(session.ssoRegion, oidcEndpoint);
  const issuedAt = deps.clock.now();
  const out = await client.send(
    new CreateTokenCommand({
      grantType: "refresh_token",
      clientId: token.clientId,
      clientSecret: token.clientSecret,
      refreshToken: token.refreshToken,
    }),
  );
  if (!out.accessToken) throw new Error("CreateToken returned no access token");
  return {
    ...token,
    accessToken: out.accessToken,
    expiresAt: isoSeconds(issuedAt + (out.expiresIn ?? 3600) * 1000),
    ...(out.refreshToken ? { refreshToken: out.refreshToken } : {}),
  };
}
