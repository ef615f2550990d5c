import { access } from "node:fs/promises";
import type { LoginUi } from "../auth/login.js";
import { login } from "../auth/login.js";
import { isTransientServiceError } from "../auth/service-errors.js";
import type { SessionRef } from "../auth/session-ref.js";
import { describeSession, loginHint } from "../auth/session-ref.js";
import { tokenCachePath } from "../aws-files/token-cache.js";
import type { CredentialSource } from "../credentials/credential-source.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import type { Deps } from "../runtime/deps.js";
import { SessionExpiredError } from "../runtime/errors.js";
import type { AgentEmitter } from "./agent-events.js";
import type { BackoffOptions } from "./backoff.js";
import { backoffMs } from "./backoff.js";
import type { LifetimeTracker } from "./refresh-policy.js";

export interface SessionGuardOptions {
  deps: Deps;
  source: CredentialSource;
  lifetimes: LifetimeTracker;
  emitter: AgentEmitter;
  /** Aborts every wait and the login when the agent stops. */
  signal: AbortSignal;
  retry: BackoffOptions;
  /** After a failed or cancelled login, ask again no sooner than this. */
  loginRetryMs: number;
  /** How often to look for a token file while signed out. */
  signedOutPollMs: number;
  login: {
    openBrowser: boolean;
    useDeviceCode: boolean;
    browser?: (url: string) => Promise<boolean>;
  };
  onChange: () => void;
}

/** What `status` shows per session beyond the token file. */
export interface SessionActivity {
  session: SessionRef;
  loginPending: boolean;
  /** The token file is missing: logged out or never logged in. */
  signedOut: boolean;
}

export function sessionKey(session: Pick<SessionRef, "sessionName" | "startUrl">): string {
  return session.sessionName ?? `url:${session.startUrl}`;
}

function transient(err: unknown): boolean {
  return isTransientServiceError(err) || isTransientServiceError((err as { cause?: unknown }).cause);
}

/** For use inside a log line: without the message's own final period. */
function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\.$/, "");
}

/**
 * Gets role credentials for the agent and recovers from what it can: transient AWS errors
 * (retried with capped backoff), an expired session (ONE login per session, however many
 * containers wait on it) and a signed-out session (wait for `sso-docker login`, never prompt:
 * the user just logged out on purpose).
 */
export class SessionGuard {
  private readonly logins = new Map<string, Promise<void>>();
  private readonly signIns = new Map<string, Promise<void>>();
  private readonly notBefore = new Map<string, number>();
  readonly activity = new Map<string, SessionActivity>();

  constructor(private readonly options: SessionGuardOptions) {}

  /**
   * Credentials for the profile. Transient failures are retried until `signal` aborts;
   * other failures (unknown role, bad config) are thrown unless `persistent`, when they
   * are retried too (at the capped interval), for refresh rounds that must not give up.
   */
  async obtain(
    resolved: ResolvedProfile,
    options: { signal: AbortSignal; persistent?: boolean },
  ): Promise<RoleCredentials> {
    const { deps, source, lifetimes, retry } = this.options;
    const { session } = resolved;
    const activity = this.activityOf(session);
    for (let attempt = 0; ;) {
      options.signal.throwIfAborted();
      // After a logout the cached credentials must not be pushed again anywhere.
      if (!(await this.hasToken(session))) source.forget(resolved);
      try {
        const credentials = await source.get(resolved);
        lifetimes.observe(credentials);
        return credentials;
      } catch (err) {
        options.signal.throwIfAborted();
        if (err instanceof SessionExpiredError && !transient(err.cause)) {
          if (await this.hasToken(session))
            await untilAborted(this.loginOnce(resolved, activity), options.signal);
          else await this.waitForSignIn(resolved, activity, options.signal);
          continue;
        }
        if (!options.persistent && !transient(err)) throw err;
        const delay = backoffMs(attempt++, retry);
        const identity = `${resolved.identity.roleName}@${resolved.identity.accountId}`;
        deps.logger.warn(
          `getting credentials for profile ${session.profileName} (${identity}) failed: ${messageOf(err)}; retrying in ${formatDelay(delay)}`,
        );
        this.options.emitter.emit("fetchFailed", {
          identity,
          error: messageOf(err),
          retryInMs: delay,
          at: deps.clock.now(),
        });
        await deps.clock.sleep(delay, options.signal);
      }
    }
  }

  private activityOf(session: SessionRef): SessionActivity {
    const key = sessionKey(session);
    let activity = this.activity.get(key);
    if (!activity) {
      activity = { session, loginPending: false, signedOut: false };
      this.activity.set(key, activity);
    }
    return activity;
  }

  private async hasToken(session: SessionRef): Promise<boolean> {
    try {
      await access(tokenCachePath(this.options.deps.paths.ssoCacheDir, session));
      return true;
    } catch {
      return false;
    }
  }

  /** Every caller for one session shares one login (and its cooling-off after a failure). */
  private loginOnce(resolved: ResolvedProfile, activity: SessionActivity): Promise<void> {
    const key = sessionKey(resolved.session);
    let pending = this.logins.get(key);
    if (!pending) {
      pending = this.runLogin(resolved, activity).finally(() => {
        this.logins.delete(key);
      });
      this.logins.set(key, pending);
    }
    return pending;
  }

  private async runLogin(resolved: ResolvedProfile, activity: SessionActivity): Promise<void> {
    const { deps, signal, emitter } = this.options;
    const { session } = resolved;
    const key = sessionKey(session);
    const name = describeSession(session);
    const wait = (this.notBefore.get(key) ?? 0) - deps.clock.now();
    if (wait > 0) await deps.clock.sleep(wait, signal);
    activity.loginPending = true;
    this.options.onChange();
    emitter.emit("loginStarted", { session: name, at: deps.clock.now() });
    deps.logger.warn(`${name} has expired and cannot be refreshed: signing in again`);
    let ok = false;
    try {
      await login(deps, session, {
        ui: this.loginUi(name),
        oidcEndpoint: resolved.endpoints.oidc,
        openBrowser: this.options.login.openBrowser,
        useDeviceCode: this.options.login.useDeviceCode,
        signal,
        ...(this.options.login.browser ? { browser: this.options.login.browser } : {}),
      });
      ok = true;
      this.notBefore.delete(key);
      deps.logger.info(`signed in to ${name}; resuming`);
    } catch (err) {
      signal.throwIfAborted();
      this.notBefore.set(key, deps.clock.now() + this.options.loginRetryMs);
      deps.logger.warn(
        `sign-in to ${name} did not complete: ${messageOf(err)}; asking again in ${formatDelay(this.options.loginRetryMs)} (or run \`${loginHint(session)}\`)`,
      );
    } finally {
      activity.loginPending = false;
      this.options.onChange();
      emitter.emit("loginFinished", { session: name, ok, at: deps.clock.now() });
    }
  }

  /** The URL and code go to the agent's log (stderr or its log file); never a token. */
  private loginUi(name: string): LoginUi {
    const { logger } = this.options.deps;
    return {
      devicePrompt: ({ verificationUri, userCode, browserOpened }) => {
        // The complete URL carries the code as `user_code=`, which the logger masks: print both parts.
        logger.info(
          `sign-in needed for ${name}: ${browserOpened ? "a browser was opened; if not, " : ""}open ${verificationUri} and enter ${userCode}`,
        );
      },
      authorizePrompt: ({ authorizeUrl, browserOpened }) => {
        logger.info(
          `sign-in needed for ${name}: ${browserOpened ? "a browser was opened; if not, " : ""}open ${authorizeUrl} in a browser on this machine`,
        );
      },
      waitingForOtherLogin: () => {
        logger.info(`another sso-docker process is signing in to ${name}; waiting for it`);
      },
    };
  }

  /** Signed out (no token file): wait for the user's own `sso-docker login`, shared per session. */
  private waitForSignIn(
    resolved: ResolvedProfile,
    activity: SessionActivity,
    signal: AbortSignal,
  ): Promise<void> {
    const key = sessionKey(resolved.session);
    let pending = this.signIns.get(key);
    if (!pending) {
      pending = this.pollForToken(resolved, activity).finally(() => {
        this.signIns.delete(key);
      });
      this.signIns.set(key, pending);
    }
    // Each caller may stop waiting on its own (its container went away).
    return untilAborted(pending, signal);
  }

  private async pollForToken(resolved: ResolvedProfile, activity: SessionActivity): Promise<void> {
    const { deps, signal, signedOutPollMs } = this.options;
    const { session } = resolved;
    activity.signedOut = true;
    this.options.onChange();
    deps.logger.warn(
      `not signed in to ${describeSession(session)}: its containers get credentials again after \`${loginHint(session)}\``,
    );
    while (!(await this.hasToken(session))) await deps.clock.sleep(signedOutPollMs, signal);
    activity.signedOut = false;
    this.options.onChange();
    deps.logger.info(`found a new sign-in for ${describeSession(session)}; resuming`);
  }
}

/** `promise`, or a rejection as soon as `signal` aborts; the listener is removed either way. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason as Error);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      signal.removeEventListener("abort", onAbort);
    });
  });
}

export function formatDelay(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 100) / 10} s`;
}
