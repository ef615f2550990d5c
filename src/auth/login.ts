import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Deps } from "../runtime/deps.js";
import { SsoDockerError } from "../runtime/errors.js";
import { readSsoToken, tokenCachePath, withCacheLock, writeSsoToken } from "../aws-files/token-cache.js";
import type { SsoToken } from "../aws-files/token-cache.js";
import { isoSeconds, parseTimestamp } from "../runtime/time-format.js";
import { localBrowserAvailable, openInBrowser } from "./browser.js";
import type { DevicePrompt } from "./device-flow.js";
import { runDeviceFlow } from "./device-flow.js";
import { takeLoginLock } from "./login-lock.js";
import { runPkceFlow } from "./pkce-flow.js";
import { ensureRegistration } from "./registration.js";
import type { SessionRef } from "./session-ref.js";
import { describeSession } from "./session-ref.js";
import { createOidcClient, oidcOrigin } from "./sso-clients.js";
import { toServiceError } from "./service-errors.js";

/** How the login talks to the person: the CLI prints and spins, the agent logs. */
export interface LoginUi {
  devicePrompt(prompt: DevicePrompt & { browserOpened: boolean }): void;
  authorizePrompt(prompt: { authorizeUrl: string; browserOpened: boolean }): void;
  /** Another sso-docker process is already signing in to this session. */
  waitingForOtherLogin?(): void;
}

export interface LoginOptions {
  useDeviceCode?: boolean | undefined;
  /** false = print the URL, never open a browser. */
  openBrowser?: boolean | undefined;
  signal?: AbortSignal | undefined;
  ui: LoginUi;
  /** Resolved OIDC endpoint override (undefined = AWS default). */
  oidcEndpoint: string | undefined;
  /** Override browser opening (tests drive the browser step themselves). */
  browser?: (url: string) => Promise<boolean>;
  /**
   * The agent's login, which nobody watches: a person's login started meanwhile runs at once
   * instead of queueing behind it (the agent withdraws its request when the token lands).
   */
  background?: boolean | undefined;
}

export interface LoginResult {
  expiresAt: number;
  flow: "device" | "pkce";
  /** True when another process's login was reused instead of prompting again. */
  reused: boolean;
}

/**
 * Signs in to the session and writes the token cache file, exactly as `aws sso login` does.
 * One login at a time per session across processes: a second caller waits for the first
 * and reuses its token instead of opening a second browser (unless the first is the agent's
 * `background` login and the second is not).
 */
export async function login(deps: Deps, session: SessionRef, options: LoginOptions): Promise<LoginResult> {
  const path = tokenCachePath(deps.paths.ssoCacheDir, session);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const before = await readSsoToken(path, { profileName: session.profileName }).catch(() => undefined);
  const lock = await takeLoginLock(path, session, {
    background: options.background === true,
    signal: options.signal,
    onWait: () => options.ui.waitingForOtherLogin?.(),
  });
  if (!lock) {
    deps.logger.debug(
      `the agent's sign-in to ${describeSession(session)} is pending; signing in here instead`,
    );
    return await loginLocked(deps, session, options, path);
  }
  try {
    // Did someone else finish a login while we waited? Then use theirs.
    const current = await readSsoToken(path, { profileName: session.profileName }).catch(() => undefined);
    if (
      current &&
      before?.accessToken !== current.accessToken &&
      (parseTimestamp(current.expiresAt) ?? 0) > deps.clock.now()
    ) {
      return { expiresAt: parseTimestamp(current.expiresAt) ?? 0, flow: "device", reused: true };
    }
    return await loginLocked(deps, session, options, path);
  } finally {
    await lock.release();
  }
}

async function loginLocked(
  deps: Deps,
  session: SessionRef,
  options: LoginOptions,
  path: string,
): Promise<LoginResult> {
  const useDevice =
    session.kind === "legacy" ||
    options.useDeviceCode === true ||
    !localBrowserAvailable(deps.env, deps.platform);
  const flow = useDevice ? "device" : "pkce";
  const openBrowser = options.openBrowser !== false;
  const browser = options.browser ?? openInBrowser;
  const client = await createOidcClient(session.ssoRegion, options.oidcEndpoint);
  const context = {
    operation: "login",
    profileName: session.profileName,
    endpoint: oidcOrigin(session.ssoRegion, options.oidcEndpoint),
  };
  try {
    const registration = await ensureRegistration(deps, client, session, flow);
    const grant = useDevice
      ? await runDeviceFlow({
          client,
          registration,
          startUrl: session.startUrl,
          clock: deps.clock,
          signal: options.signal,
          profileName: session.profileName,
          onPrompt: async (prompt) => {
            const browserOpened = openBrowser ? await browser(prompt.verificationUriComplete) : false;
            options.ui.devicePrompt({ ...prompt, browserOpened });
          },
        })
      : await runPkceFlow({
          client,
          registration,
          oidcOrigin: oidcOrigin(session.ssoRegion, options.oidcEndpoint),
          scopes: session.scopes,
          clock: deps.clock,
          signal: options.signal,
          profileName: session.profileName,
          onPrompt: async ({ authorizeUrl }) => {
            const browserOpened = openBrowser ? await browser(authorizeUrl) : false;
            options.ui.authorizePrompt({ authorizeUrl, browserOpened });
          },
        });
    const token: SsoToken = {
      startUrl: session.startUrl,
      region: session.ssoRegion,
      accessToken: grant.accessToken,
      expiresAt: isoSeconds(grant.expiresAt),
      clientId: registration.clientId,
      clientSecret: registration.clientSecret,
      registrationExpiresAt: isoSeconds(registration.expiresAt),
      ...(grant.refreshToken && session.kind === "sso-session" ? { refreshToken: grant.refreshToken } : {}),
    };
    await withCacheLock(path, () => writeSsoToken(path, token));
    deps.logger.debug(`signed in to ${describeSession(session)} with the ${flow} flow`);
    return { expiresAt: grant.expiresAt, flow, reused: false };
  } catch (err) {
    if (err instanceof SsoDockerError) throw err;
    throw toServiceError(err, context);
  }
}
