import { parseTimestamp } from "../runtime/time-format.js";
import { readSsoToken } from "../aws-files/token-cache.js";
import type { Clock } from "../runtime/clock.js";

/** The access token a token cache file holds, or undefined when there is none or it is damaged. */
export async function cachedAccessToken(
  path: string,
): Promise<{ accessToken: string; expiresAt: number } | undefined> {
  const token = await readSsoToken(path).catch(() => undefined);
  if (!token) return undefined;
  return { accessToken: token.accessToken, expiresAt: parseTimestamp(token.expiresAt) ?? 0 };
}

/**
 * Resolves once the token file holds a sign-in other than `baseline` (an access token, or
 * undefined for none) that has not run out: `sso-docker login` or `aws sso login` in a
 * terminal. Rejects when `signal` aborts.
 */
export async function waitForNewSignIn(
  path: string,
  baseline: string | undefined,
  options: { clock: Clock; pollMs: number; signal: AbortSignal },
): Promise<void> {
  for (;;) {
    options.signal.throwIfAborted();
    const current = await cachedAccessToken(path);
    if (current && current.accessToken !== baseline && current.expiresAt > options.clock.now()) return;
    await options.clock.sleep(options.pollMs, options.signal);
  }
}
