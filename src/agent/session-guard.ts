import type { LoginUi } from "../auth/login.js";
import { login } from "../auth/login.js";
import { isTransientServiceError } from "../auth/service-errors.js";
import type { SessionRef } from "../auth/session-ref.js";
import { describeSession, loginHint } from "../auth/session-ref.js";
import { cachedAccessToken, waitForNewSignIn } from "../auth/sign-in-watch.js";
import { hasTokenFile, tokenCachePath } from "../aws-files/token-cache.js";
import type { CredentialSource } from "../credentials/credential-source.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { finalRole } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import { supplyKey } from "../credentials/supply-key.js";
import type { Deps } from "../runtime/deps.js";
import { SessionExpiredError } from "../runtime/errors.js";
import type { AgentEmitter } from "./agent-events.js";
import type { BackoffOptions } from "./backoff.js";
import { backoffMs } from "./backoff.js";
import type { SupplyReport } from "./status-note.js";
import { untilAborted } from "../runtime/until-aborted.js";
import { clauseOf } from "../runtime/message-of.js";

export interface SessionGuardOptions {
  deps: Deps;
  source: Pick<CredentialSource, "get" | "forget">;
  emitter: AgentEmitter;
  /** Aborts every wait and the login when the agent stops. */
  signal: AbortSignal;
  retry: BackoffOptions;
  /** After a login (failed, cancelled or not), ask again no sooner than this. */
  loginRetryMs: number;
  /** How often to look at a session's token file: for a sign-out, and for a sign-in made elsewhere. */
  signedOutPollMs: number;
  login: {
    openBrowser: boolean;
    useDeviceCode: boolean;
    browser?: (url: string) => Promise<boolean>;
    /** Test seam: the sign-in itself. */
    run?: typeof login;
  };
  onChange: () => void;
  /** A signed-out session is signed in again: the containers of these identities need a push. */
  onSignedIn?: (identities: string[]) => void;
  /** Whether credentials can be had for an identity, for the notes the agent leaves in containers. */
  onSupply?: (report: SupplyReport) => void;
}

/** What `status` shows per session beyond the token file. */
export interface SessionActivity {
  session: SessionRef;
  loginPending: boolean;
  /** The token file is missing: logged out or never logged in. */
  signedOut: boolean;
}

/** One SSO session as the guard sees it: its identities in use, and the one wait all share. */
interface SessionState {
  activity: SessionActivity;
  tokenPath: string;
  identities: Map<string, ResolvedProfile>;
  login: Promise<void> | undefined;
  signIn: Promise<void> | undefined;
  /** No new login prompt before this (epoch ms). */
  notBefore: number;
  watching: boolean;
}

export function sessionKey(session: Pick<SessionRef, "sessionName" | "startUrl">): string {
  return session.sessionName ?? `url:${session.startUrl}`;
}

function causeOf(err: unknown): unknown {
  return err instanceof Error ? err.cause : undefined;
}

function transient(err: unknown): boolean {
  return isTransientServiceError(err) || isTransientServiceError(causeOf(err));
}

/**
 * Gets role credentials for the agent and recovers from what it can: transient AWS errors
 * (retried with capped backoff), an expired session (ONE login per session, however many
 * containers and rounds wait on it, given up as soon as a sign-in made elsewhere lands) and a
 * signed-out session (wait for `sso-docker login`, never prompt: the user logged out on purpose).
 */
export class SessionGuard {
  private readonly sessions = new Map<string, SessionState>();
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
    const { deps, source, retry } = this.options;
    const state = this.track(resolved);
    for (let attempt = 0; ;) {
      options.signal.throwIfAborted();
      if (!(await this.hasToken(state))) {
        // After a logout the cached credentials must not be pushed again anywhere.
        source.forget(resolved);
        // An identity that joins a wait under way is told of it as the others were.
        const joining = state.signIn !== undefined;
        const signedIn = this.waitForSignIn(state);
        if (joining) this.reportSignIn(state, "signedOut");
        await untilAborted(signedIn, options.signal);
        continue;
      }
      try {
        const credentials = await source.get(resolved);
        this.options.onSupply?.({ kind: "ok", identity: supplyKey(resolved) });
        return credentials;
      } catch (err) {
        options.signal.throwIfAborted();
        // A refresh that failed for a passing reason (throttling, 5xx, network) is retried, not a login.
        if (err instanceof SessionExpiredError && !transient(causeOf(err))) {
          if (state.activity.loginPending) this.reportSignIn(state, "login");
          await untilAborted(this.loginOnce(state, resolved), options.signal);
          continue;
        }
        this.options.onSupply?.({
          kind: "failed",
          identity: supplyKey(resolved),
          resolved,
          error: err,
          transient: transient(err),
        });
        if (!options.persistent && !transient(err)) throw err;
        const delay = backoffMs(attempt++, retry);
        const { roleName, accountId } = finalRole(resolved);
        const identity = `${roleName}@${accountId}`;
        deps.logger.warn(
          `getting credentials for profile ${resolved.session.profileName} (${identity}) failed: ${clauseOf(err)}; retrying in ${formatDelay(delay)}`,
        );
        this.options.emitter.emit("fetchFailed", {
          identity,
          error: clauseOf(err),
          retryInMs: delay,
          at: deps.clock.now(),
        });
        await deps.clock.sleep(delay, options.signal);
      }
    }
  }

  /** The session's state; from the first use on, its token file is watched for a sign-out. */
  private track(resolved: ResolvedProfile): SessionState {
    const { session } = resolved;
    const key = sessionKey(session);
    let state = this.sessions.get(key);
    if (!state) {
      const activity: SessionActivity = { session, loginPending: false, signedOut: false };
      this.activity.set(key, activity);
      state = {
        activity,
        tokenPath: tokenCachePath(this.options.deps.paths.ssoCacheDir, session),
        identities: new Map(),
        login: undefined,
        signIn: undefined,
        notBefore: 0,
        watching: false,
      };
      this.sessions.set(key, state);
    }
    state.identities.set(supplyKey(resolved), resolved);
    if (!state.watching) this.watchForSignOut(state);
    return state;
  }

  private hasToken(state: SessionState): Promise<boolean> {
    return hasTokenFile(this.options.deps.paths.ssoCacheDir, state.activity.session);
  }

  /**
   * `sso-docker logout` empties the containers but says nothing to the agent: notice it here,
   * so that once the user signs in again every identity of the session is pushed at once
   * rather than at its next refresh.
   */
  private watchForSignOut(state: SessionState): void {
    const { deps, signal, signedOutPollMs } = this.options;
    state.watching = true;
    void (async () => {
      for (;;) {
        await deps.clock.sleep(signedOutPollMs, signal);
        if (await this.hasToken(state)) continue;
        await this.waitForSignIn(state);
        this.options.onSignedIn?.([...state.identities.keys()]);
      }
    })().catch(() => undefined); // only the agent's stop ends it
  }

  /** Every caller for one session shares one login (and its cooling-off after the last one). */
  private loginOnce(state: SessionState, resolved: ResolvedProfile): Promise<void> {
    state.login ??= this.runLogin(state, resolved).finally(() => {
      state.login = undefined;
    });
    return state.login;
  }

  private async runLogin(state: SessionState, resolved: ResolvedProfile): Promise<void> {
    const { deps, emitter } = this.options;
    const { session } = resolved;
    const { activity } = state;
    const name = describeSession(session);
    // Ends the watch for a sign-in made elsewhere and, once that one wins, our own prompt.
    const controller = new AbortController();
    const signal = AbortSignal.any([this.options.signal, controller.signal]);
    const baseline = (await cachedAccessToken(state.tokenPath))?.accessToken;
    const elsewhere = waitForNewSignIn(state.tokenPath, baseline, {
      clock: deps.clock,
      pollMs: this.options.signedOutPollMs,
      signal,
    }).then(() => "elsewhere" as const);
    elsewhere.catch(() => undefined); // it rejects when we stop watching; the races below see it
    let prompted = false;
    let ok = false;
    let byOther = false;
    try {
      const wait = state.notBefore - deps.clock.now();
      if (wait > 0) {
        const waited = deps.clock.sleep(wait, signal).then(() => "waited" as const);
        byOther = (await Promise.race([waited, elsewhere])) === "elsewhere";
      }
      if (!byOther) {
        prompted = true;
        activity.loginPending = true;
        this.options.onChange();
        this.reportSignIn(state, "login");
        emitter.emit("loginStarted", { session: name, at: deps.clock.now() });
        deps.logger.warn(`${name} has expired and cannot be refreshed: signing in again`);
        const run = this.options.login.run ?? login;
        const signedIn = run(deps, session, {
          ui: this.loginUi(name),
          oidcEndpoint: resolved.endpoints.oidc,
          openBrowser: this.options.login.openBrowser,
          useDeviceCode: this.options.login.useDeviceCode,
          signal,
          background: true,
          ...(this.options.login.browser ? { browser: this.options.login.browser } : {}),
        }).then(() => "signed-in" as const);
        byOther = (await Promise.race([signedIn, elsewhere])) === "elsewhere";
      }
      ok = true;
      if (byOther) {
        deps.logger.info(
          `found a new sign-in to ${name} made outside the agent${prompted ? "; its own sign-in request is withdrawn" : ""}; resuming`,
        );
      } else deps.logger.info(`signed in to ${name}; resuming`);
    } catch (err) {
      this.options.signal.throwIfAborted();
      deps.logger.warn(
        `sign-in to ${name} did not complete: ${clauseOf(err)}; asking again in ${formatDelay(this.options.loginRetryMs)} (or run \`${loginHint(session)}\`)`,
      );
    } finally {
      controller.abort();
      // Also after a success: a session that dies again at once must not prompt in a loop.
      if (prompted) state.notBefore = deps.clock.now() + this.options.loginRetryMs;
      if (prompted) {
        activity.loginPending = false;
        this.options.onChange();
        emitter.emit("loginFinished", { session: name, ok, elsewhere: byOther, at: deps.clock.now() });
      }
    }
  }

  private reportSignIn(state: SessionState, waiting: "login" | "signedOut"): void {
    const identities = [...state.identities.keys()];
    this.options.onSupply?.({ kind: "signIn", identities, session: state.activity.session, waiting });
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
  private waitForSignIn(state: SessionState): Promise<void> {
    state.signIn ??= this.pollForToken(state).finally(() => {
      state.signIn = undefined;
    });
    return state.signIn;
  }

  private async pollForToken(state: SessionState): Promise<void> {
    const { deps, signal, signedOutPollMs, emitter, source } = this.options;
    const { session } = state.activity;
    const name = describeSession(session);
    state.activity.signedOut = true;
    this.options.onChange();
    this.reportSignIn(state, "signedOut");
    for (const resolved of state.identities.values()) source.forget(resolved);
    emitter.emit("signedOut", { session: name, at: deps.clock.now() });
    deps.logger.warn(
      `not signed in to ${name}: its containers get credentials again after \`${loginHint(session)}\``,
    );
    while (!(await this.hasToken(state))) await deps.clock.sleep(signedOutPollMs, signal);
    state.activity.signedOut = false;
    this.options.onChange();
    deps.logger.info(`found a new sign-in for ${name}; resuming`);
  }
}

/** `promise`, or a rejection as soon as `signal` aborts; the listener is removed either way. */

export function formatDelay(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 100) / 10} s`;
}
