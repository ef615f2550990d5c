import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { outputSettings } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import { supplyKey } from "../credentials/supply-key.js";
import { refreshDueAt } from "../credentials/refresh-timing.js";
import type { DeliveryProfile } from "../delivery/profile-files.js";
import { pushCredentials, PushRefusedError } from "../delivery/push-credentials.js";
import type { DockerEngine } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import { isoSeconds } from "../runtime/time-format.js";
import type { AgentEmitter, SyncReason } from "./agent-events.js";
import type { NoteWriter } from "./container-notes.js";
import { settingsOf } from "./container-profiles.js";
import type { ContainerStatus } from "./container-status.js";
import type { ManagedContainer, PushOutcome, PushRequest, PushWant } from "./managed-container.js";
import type { SessionGuard } from "./session-guard.js";
import { reasonForFailure } from "./status-note.js";
import type { SupplyTroubles } from "./supply-troubles.js";

export interface ContainerPusherOptions {
  deps: Deps;
  engine: DockerEngine;
  guard: SessionGuard;
  emitter: AgentEmitter;
  signal: AbortSignal;
  status: ContainerStatus;
  troubles: SupplyTroubles;
  noteWriter: NoteWriter;
  /** Whether the agent still supplies this container (not stopped, not refused since). */
  isCurrent: (managed: ManagedContainer) => boolean;
  scheduleRefresh: (identity: string, dueAt: number) => void;
  /** Fetching the identity's credentials failed for a container that has none: try again in a round. */
  retryFetch?: ((identity: string) => void) | undefined;
  onChange: () => void;
}

function toDelivery(resolved: ResolvedProfile, credentials: RoleCredentials): DeliveryProfile {
  return {
    name: resolved.session.profileName,
    ...outputSettings(resolved),
    credentials: { ...credentials, expiration: new Date(credentials.expiration) },
  };
}

/** Fetches a container's credentials and pushes them in, one push at a time per container. */
export class ContainerPusher {
  constructor(private readonly options: ContainerPusherOptions) {}

  /**
   * Pushes every profile of the container; with `want`, only if it lacks that key. If a push to it
   * is under way, returns "busy" at once and the request is kept for one more push after it.
   */
  push(managed: ManagedContainer, reason: SyncReason, want?: PushWant): Promise<PushOutcome> {
    if (managed.busy) {
      const previous = managed.again;
      // A request that must push whatever the container holds outranks one that may skip it.
      const unconditional = previous !== undefined && previous.want === undefined;
      managed.again = { reason, want: unconditional ? undefined : want };
      return Promise.resolve("busy");
    }
    managed.busy = true;
    const first = this.pushNow(managed, reason, want);
    // Whatever became of it, the container must not stay busy.
    void first.catch(() => undefined).then(() => this.followUps(managed));
    return first;
  }

  /** Requests that came in while a push ran: one push each time, the newest credentials. */
  private async followUps(managed: ManagedContainer): Promise<void> {
    for (let next = this.takeAgain(managed); next; next = this.takeAgain(managed)) {
      await this.pushNow(managed, next.reason, next.want);
    }
  }

  /** The request to push next, or none: then the container is free (in the same step). */
  private takeAgain(managed: ManagedContainer): PushRequest | undefined {
    const next = managed.again;
    delete managed.again;
    const gone = this.options.signal.aborted || !this.options.isCurrent(managed);
    if (next === undefined || gone) {
      managed.busy = false;
      return undefined;
    }
    return next;
  }

  /** Never rejects: a failure is recorded on the container (status shows it). */
  private async pushNow(
    managed: ManagedContainer,
    reason: SyncReason,
    want: PushWant | undefined,
  ): Promise<PushOutcome> {
    const { deps, engine, guard, emitter, status, noteWriter } = this.options;
    const { details, participation } = managed;
    if (!this.options.isCurrent(managed) || managed.resolved.length === 0) return "skipped";
    if (want && managed.pushedKeys.get(want.identity) === want.accessKeyId) return "current";
    const signal = AbortSignal.any([this.options.signal, managed.controller.signal]);
    let fetched = false;
    try {
      const t0 = performance.now();
      const { supplied, missed } = await obtainEach(managed.resolved, (r) => guard.obtain(r, { signal }));
      fetched = true;
      const t1 = performance.now();
      const profiles = supplied.map(({ resolved, credentials }) => toDelivery(resolved, credentials));
      await noteWriter.beforePush(managed);
      const result = await pushCredentials(engine, details, profiles, {
        ...(participation.user === undefined ? {} : { user: participation.user }),
        ...(supplied.length === participation.profiles.length ? {} : { configProfiles: settingsOf(managed) }),
        signal,
      }).finally(() => {
        noteWriter.afterPush(managed);
      });
      const expiration = Math.min(...supplied.map(({ credentials }) => credentials.expiration));
      managed.lastPush = deps.clock.now();
      managed.credentialExpiry = expiration;
      delete managed.lastError;
      delete managed.trouble;
      // A trouble reported while the push ran (a sign-out) still wants its note.
      status.updateNotes(managed);
      for (const { resolved, credentials: c } of supplied) {
        const key = supplyKey(resolved);
        managed.pushedKeys.set(key, c.accessKeyId);
        this.options.scheduleRefresh(key, refreshDueAt(c));
      }
      // The status notes say why the others are missing (the guard reported each failure).
      if (missed.length > 0) this.retryFetches(managed);
      const line = `pushed ${profiles.map((p) => p.name).join(",")} to ${details.name} (uid ${result.uid}); expires ${isoSeconds(expiration)} [${reason}]`;
      if (reason === "refresh") deps.logger.debug(line);
      else deps.logger.info(line);
      deps.logger.debug(
        `${details.name}: credentials in ${Math.round(t1 - t0)} ms, push exec in ${Math.round(performance.now() - t1)} ms`,
      );
      if (reason !== "refresh") for (const warning of result.warnings) deps.logger.warn(warning);
      emitter.emit("pushed", {
        containerId: details.id,
        containerName: details.name,
        profiles: profiles.map((p) => p.name),
        expiration,
        reason,
        at: managed.lastPush,
      });
      this.options.onChange();
      return "pushed";
    } catch (err) {
      if (signal.aborted) return "skipped";
      // A push that timed out may still finish in the container, and one that failed may have
      // replaced some files: what it holds is unknown, so the next round pushes again.
      managed.pushedKeys.clear();
      if (!fetched) this.retryFetches(managed);
      else if (PushRefusedError.is(err)) status.setTrouble(managed, reasonForFailure(err));
      status.recordFailure(managed, err);
      return "failed";
    }
  }

  /**
   * A container that got nothing because a fetch failed is in no refresh round yet: one is asked
   * for each identity the agent cannot get, which keeps retrying until it can and then pushes.
   */
  private retryFetches(managed: ManagedContainer): void {
    for (const r of managed.resolved) {
      const identity = supplyKey(r);
      if (this.options.troubles.has(identity)) this.options.retryFetch?.(identity);
    }
  }
}

/**
 * Each profile's credentials, failures apart: one profile its agent cannot get keeps only itself
 * from the container (its status note says why). Throws the first failure when none succeeded.
 */
async function obtainEach(
  resolved: readonly ResolvedProfile[],
  obtain: (r: ResolvedProfile) => Promise<RoleCredentials>,
): Promise<{ supplied: { resolved: ResolvedProfile; credentials: RoleCredentials }[]; missed: unknown[] }> {
  const settled = await Promise.allSettled(resolved.map(obtain));
  const supplied: { resolved: ResolvedProfile; credentials: RoleCredentials }[] = [];
  const missed: unknown[] = [];
  settled.forEach((result, i) => {
    const r = resolved[i];
    if (result.status === "rejected") missed.push(result.reason);
    else if (r !== undefined) supplied.push({ resolved: r, credentials: result.value });
  });
  if (supplied.length === 0 && missed.length > 0) throw missed[0];
  return { supplied, missed };
}
