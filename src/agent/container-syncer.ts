import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { resolveProfile } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import { identityKey } from "../credentials/role-credentials.js";
import { refreshDueAt } from "../credentials/refresh-timing.js";
import type { DeliveryProfile } from "../delivery/profile-files.js";
import { pushCredentials } from "../delivery/push-credentials.js";
import type { ContainerDetails, DockerEngine } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import { isoSeconds } from "../runtime/time-format.js";
import type { AgentEmitter, SyncReason } from "./agent-events.js";
import type { RefusedState } from "./agent-state.js";
import type { Binding } from "./binding.js";
import { checkBinding } from "./binding.js";
import type { Participation, ParticipationRule } from "./participation.js";
import { resolveParticipation } from "./devcontainer.js";
import { FeatureImageReader } from "./feature-image.js";
import type { SessionGuard } from "./session-guard.js";

/** A running container the agent keeps supplied. */
export interface ManagedContainer {
  details: ContainerDetails;
  participation: Participation;
  /** One per `participation.profiles` entry, same order. */
  resolved: ResolvedProfile[];
  /** identity key → access key id last pushed, so a refresh round skips containers that have it. */
  pushedKeys: Map<string, string>;
  lastPush?: number;
  credentialExpiry?: number;
  lastError?: string;
  /** Aborted when the container dies or is destroyed. */
  controller: AbortController;
  /**
   * A push runs now. Another is never queued behind it (a hung one would hold the queue): it is
   * noted in `again` instead, and one more push follows when this one ends, so pushes to one
   * container never overlap and an older one never lands last.
   */
  busy: boolean;
  again?: PushRequest;
}

/** Push only if the container lacks this access key of this identity (a refresh round). */
export interface PushWant {
  identity: string;
  accessKeyId: string;
}

interface PushRequest {
  reason: SyncReason;
  /** Undefined: push whatever the container holds (a start, a reconcile). */
  want: PushWant | undefined;
}

/**
 * "busy": another push was under way, this one follows it; "current": the container had the
 * credentials; "skipped": the container is gone, stopping, or has no profiles to push.
 */
export type PushOutcome = "pushed" | "current" | "busy" | "failed" | "skipped";

export interface SyncerOptions {
  deps: Deps;
  engine: DockerEngine;
  guard: SessionGuard;
  emitter: AgentEmitter;
  signal: AbortSignal;
  rules: readonly ParticipationRule[];
  /** This user's grant key: a container is supplied only when bound to this user (binding.ts). */
  grantKey: Buffer;
  /** Owner a devcontainer.json must have to bind a container (default: this process's user). */
  uid?: number;
  scheduleRefresh: (identity: string, dueAt: number) => void;
  onChange: () => void;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isNotFound(err: unknown): boolean {
  const cause = (err as { cause?: { statusCode?: unknown } } | undefined)?.cause;
  return cause?.statusCode === 404;
}

function toDelivery(name: string, resolved: ResolvedProfile, credentials: RoleCredentials): DeliveryProfile {
  const { region, output } = resolved.profile;
  return {
    name,
    ...(region === undefined ? {} : { region }),
    ...(output === undefined ? {} : { output }),
    credentials: { ...credentials, expiration: new Date(credentials.expiration) },
  };
}

/** Inspects, resolves and pushes: everything that happens to one container. */
export class ContainerSyncer {
  readonly containers = new Map<string, ManagedContainer>();
  /** Running containers that ask for credentials but are not bound to this user, for `status`. */
  readonly refused = new Map<string, RefusedState>();
  /** What was last said of each refused container, so each verdict is logged once. */
  private readonly told = new Map<string, string>();
  private readonly syncs = new Map<string, { again: SyncReason | undefined; done: Promise<void> }>();
  /** Bumped when a container is forgotten, so a sync that started before does not bring it back. */
  private readonly epochs = new Map<string, number>();

  private readonly featureImages: FeatureImageReader;

  constructor(private readonly options: SyncerOptions) {
    this.featureImages = new FeatureImageReader(options.engine, { signal: options.signal });
  }

  /**
   * (Re)syncs a container. Requests while one runs are coalesced into one more run, so a
   * burst of events costs at most two pushes.
   */
  request(id: string, reason: SyncReason): Promise<void> {
    const running = this.syncs.get(id);
    if (running) {
      running.again = reason;
      return running.done;
    }
    const entry: { again: SyncReason | undefined; done: Promise<void> } = {
      again: reason,
      done: Promise.resolve(),
    };
    this.syncs.set(id, entry);
    entry.done = (async () => {
      while (entry.again !== undefined && !this.options.signal.aborted) {
        const next = entry.again;
        entry.again = undefined;
        await this.syncOnce(id, next);
      }
    })().finally(() => {
      this.syncs.delete(id);
    });
    return entry.done;
  }

  /** `destroyed`: the container is gone for good, not just stopped. */
  forget(id: string, destroyed = false): void {
    this.epochs.set(id, (this.epochs.get(id) ?? 0) + 1);
    if (destroyed) this.told.delete(id);
    if (this.refused.delete(id)) this.options.onChange();
    const managed = this.containers.get(id);
    if (!managed) return;
    managed.controller.abort(new Error(`container ${managed.details.name} stopped`));
    this.containers.delete(id);
    this.options.deps.logger.info(`container ${managed.details.name} stopped; no longer synced`);
    this.options.emitter.emit("forgotten", { containerId: id, at: this.options.deps.clock.now() });
    this.options.onChange();
  }

  /** Containers holding credentials of this identity. */
  usersOf(identity: string): ManagedContainer[] {
    return [...this.containers.values()].filter((m) =>
      m.resolved.some((r) => identityKey(r.identity) === identity),
    );
  }

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
    const gone = this.options.signal.aborted || this.containers.get(managed.details.id) !== managed;
    if (next === undefined || gone) {
      managed.busy = false;
      return undefined;
    }
    return next;
  }

  private async syncOnce(id: string, reason: SyncReason): Promise<void> {
    const { deps, engine, emitter } = this.options;
    const epoch = this.epochs.get(id) ?? 0;
    let details: ContainerDetails;
    const t0 = performance.now();
    try {
      details = await engine.inspectContainer(id);
      deps.logger.debug(`inspected ${details.name} in ${Math.round(performance.now() - t0)} ms [${reason}]`);
    } catch (err) {
      if (isNotFound(err)) this.forget(id);
      else deps.logger.warn(`cannot inspect container ${id.slice(0, 12)}: ${messageOf(err)}`);
      return;
    }
    const participation = await resolveParticipation(details, this.options.rules, {
      logger: deps.logger,
      images: this.featureImages,
      signal: this.options.signal,
    });
    if (!participation) {
      deps.logger.debug(`container ${details.name} does not ask for credentials; leaving it alone`);
      emitter.emit("ignored", { containerId: id, containerName: details.name, at: deps.clock.now() });
      return;
    }
    const binding = await checkBinding(details, participation, this.options.grantKey, this.options.uid);
    // Stopped or paused: its start or unpause event brings it back.
    if (!details.running || details.paused || (this.epochs.get(id) ?? 0) !== epoch) return;
    if (!binding.bound) {
      this.refuse(details, participation, binding);
      return;
    }
    this.told.delete(id);
    if (this.refused.delete(id)) this.options.onChange();
    const managed = this.upsert(details, participation);
    try {
      managed.resolved = await Promise.all(
        participation.profiles.map((name) => resolveProfile(deps, name, { forContainer: true })),
      );
    } catch (err) {
      managed.resolved = [];
      this.recordFailure(managed, err);
      return;
    }
    await this.push(managed, reason);
  }

  /** Supplies nothing, now or on a refresh; says so once per verdict. */
  private refuse(
    details: ContainerDetails,
    participation: Participation,
    binding: Extract<Binding, { bound: false }>,
  ): void {
    const { deps, emitter } = this.options;
    const said = this.told.get(details.id) === binding.status;
    this.told.set(details.id, binding.status);
    deps.logger[said ? "debug" : binding.level](binding.message);
    // Supplied before, until its devcontainer.json changed: no further push or refresh.
    const managed = this.containers.get(details.id);
    if (managed) {
      managed.controller.abort(new Error(`container ${details.name} is no longer bound to this user`));
      this.containers.delete(details.id);
    }
    // Another user's containers are theirs to show.
    if (binding.level !== "debug") {
      this.refused.set(details.id, {
        id: details.id,
        name: details.name,
        profiles: participation.profiles,
        reason: binding.status,
      });
    }
    emitter.emit("refused", {
      containerId: details.id,
      containerName: details.name,
      reason: binding.status,
      at: deps.clock.now(),
    });
    this.options.onChange();
  }

  private upsert(details: ContainerDetails, participation: Participation): ManagedContainer {
    const previous = this.containers.get(details.id);
    if (previous) {
      previous.details = details;
      previous.participation = participation;
      return previous;
    }
    const managed: ManagedContainer = {
      details,
      participation,
      resolved: [],
      pushedKeys: new Map(),
      controller: new AbortController(),
      busy: false,
    };
    this.containers.set(details.id, managed);
    this.options.onChange();
    return managed;
  }

  /** Never rejects: a failure is recorded on the container (status shows it). */
  private async pushNow(
    managed: ManagedContainer,
    reason: SyncReason,
    want: PushWant | undefined,
  ): Promise<PushOutcome> {
    const { deps, engine, guard, emitter } = this.options;
    const { details, participation } = managed;
    if (this.containers.get(details.id) !== managed || managed.resolved.length === 0) return "skipped";
    if (want && managed.pushedKeys.get(want.identity) === want.accessKeyId) return "current";
    const signal = AbortSignal.any([this.options.signal, managed.controller.signal]);
    try {
      const t0 = performance.now();
      const credentials = await Promise.all(managed.resolved.map((r) => guard.obtain(r, { signal })));
      const t1 = performance.now();
      const profiles = managed.resolved.map((r, i) =>
        toDelivery(participation.profiles[i] ?? r.profile.profileName, r, credentials[i] as RoleCredentials),
      );
      const result = await pushCredentials(engine, details, profiles, {
        ...(participation.user === undefined ? {} : { user: participation.user }),
        signal,
      });
      const expiration = Math.min(...credentials.map((c) => c.expiration));
      managed.lastPush = deps.clock.now();
      managed.credentialExpiry = expiration;
      delete managed.lastError;
      managed.resolved.forEach((r, i) => {
        const c = credentials[i] as RoleCredentials;
        const key = identityKey(r.identity);
        managed.pushedKeys.set(key, c.accessKeyId);
        this.options.scheduleRefresh(key, refreshDueAt(c));
      });
      const line = `pushed ${participation.profiles.join(",")} to ${details.name} (uid ${result.uid}); expires ${isoSeconds(expiration)} [${reason}]`;
      if (reason === "refresh") deps.logger.debug(line);
      else deps.logger.info(line);
      deps.logger.debug(
        `${details.name}: credentials in ${Math.round(t1 - t0)} ms, push exec in ${Math.round(performance.now() - t1)} ms`,
      );
      if (reason !== "refresh") for (const warning of result.warnings) deps.logger.warn(warning);
      emitter.emit("pushed", {
        containerId: details.id,
        containerName: details.name,
        profiles: participation.profiles,
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
      this.recordFailure(managed, err);
      return "failed";
    }
  }

  private recordFailure(managed: ManagedContainer, err: unknown): void {
    const { deps, emitter } = this.options;
    const { details } = managed;
    const message = messageOf(err);
    // The same failure on every reconcile or round is logged once (status keeps showing it).
    const line = `container ${details.name} (${managed.participation.profiles.join(",")}): ${message}`;
    if (message === managed.lastError) deps.logger.debug(line);
    else deps.logger.warn(line);
    managed.lastError = message;
    emitter.emit("pushFailed", {
      containerId: details.id,
      containerName: details.name,
      error: managed.lastError,
      at: deps.clock.now(),
    });
    this.options.onChange();
  }
}
