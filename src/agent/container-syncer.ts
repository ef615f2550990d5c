import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { isChainFault, outputSettings, resolveProfile } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import { supplyKey } from "../credentials/supply-key.js";
import { refreshDueAt } from "../credentials/refresh-timing.js";
import type { DeliveryProfile, ProfileSettings } from "../delivery/profile-files.js";
import { validateProfileName } from "../delivery/profile-files.js";
import { pushCredentials, PushRefusedError } from "../delivery/push-credentials.js";
import type { StatusNote } from "../delivery/push-notes.js";
import type { ContainerDetails, DockerEngine } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import { ProfileError } from "../runtime/errors.js";
import { isoSeconds } from "../runtime/time-format.js";
import { quoteForeign } from "../runtime/untrusted-text.js";
import type { AgentEmitter, SyncReason } from "./agent-events.js";
import type { RefusedState } from "./agent-state.js";
import type { Binding } from "./binding.js";
import { checkBinding } from "./binding.js";
import type { NoteState } from "./container-notes.js";
import { newNoteState, NoteWriter } from "./container-notes.js";
import type { Participation, ParticipationRule } from "./participation.js";
import { resolveParticipation } from "./devcontainer.js";
import { FeatureImageReader } from "./feature-image.js";
import { PUSH_PATIENCE_MS } from "./refresh-dispatch.js";
import type { SessionGuard } from "./session-guard.js";
import type { Reason, SupplyReport } from "./status-note.js";
import { noteText, reasonForFailure } from "./status-note.js";
import type { Trouble } from "./supply-troubles.js";
import { SupplyTroubles } from "./supply-troubles.js";

/** A running container the agent keeps supplied. */
export interface ManagedContainer {
  details: ContainerDetails;
  participation: Participation;
  /** The `participation.profiles` that resolved, in that order (`session.profileName` is the name asked for). */
  resolved: ResolvedProfile[];
  /** The profiles that did not resolve (a broken role chain), and why: the others are supplied. */
  unresolved: Map<string, Trouble>;
  /** supply key (supply-key.ts) → access key id last pushed, so a refresh round skips containers that have it. */
  pushedKeys: Map<string, string>;
  lastPush?: number;
  credentialExpiry?: number;
  lastError?: string;
  /** Why the container itself cannot be supplied (its profiles, its shell), until a push succeeds. */
  trouble?: Trouble;
  /** The status notes it holds and should hold (container-notes.ts). */
  notes: NoteState;
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
  /** Fetching the identity's credentials failed for a container that has none: try again in a round. */
  retryFetch?: (identity: string) => void;
  onChange: () => void;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isNotFound(err: unknown): boolean {
  const cause = (err as { cause?: { statusCode?: unknown } } | undefined)?.cause;
  return cause?.statusCode === 404;
}

function toDelivery(resolved: ResolvedProfile, credentials: RoleCredentials): DeliveryProfile {
  return {
    name: resolved.session.profileName,
    ...outputSettings(resolved),
    credentials: { ...credentials, expiration: new Date(credentials.expiration) },
  };
}

function isSyncable(name: string): boolean {
  try {
    validateProfileName(name);
    return true;
  } catch {
    return false;
  }
}

// Docker's `--user`: a name or id, and optionally a group name or id.
const USER_SPEC = /^[\w.][\w.$-]*(:[\w.][\w.$-]*)?$/;

/** A container's profile names and file owner come from its author: checked before any use. */
function checkParticipation(details: ContainerDetails, participation: Participation): void {
  for (const name of participation.profiles) {
    if (!isSyncable(name)) {
      throw new ProfileError(
        `Container ${details.name} asks for profile ${quoteForeign(name)}, which is not a profile name sso-docker can sync.`,
        {
          hint: "Use letters, digits and . _ - @ + = : , / in the profile names of its label sso-docker.profiles.",
        },
      );
    }
  }
  const { user } = participation;
  if (user !== undefined && !USER_SPEC.test(user)) {
    throw new ProfileError(
      `Container ${details.name} names the user ${quoteForeign(user)} for its credentials, which is not a user name or uid[:gid].`,
      { hint: "Fix its label sso-docker.user (a name or uid, optionally :group or :gid)." },
    );
  }
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
  /** Why an identity's credentials cannot be had now, as the session guard reports it. */
  private readonly troubles: SupplyTroubles;
  private readonly noteWriter: NoteWriter;

  constructor(private readonly options: SyncerOptions) {
    this.featureImages = new FeatureImageReader(options.engine, { signal: options.signal });
    const { deps, engine, emitter, signal } = options;
    this.troubles = new SupplyTroubles(() => deps.clock.now());
    this.noteWriter = new NoteWriter({
      deps,
      engine,
      emitter,
      signal,
      concurrency: 8,
      patienceMs: PUSH_PATIENCE_MS,
    });
  }

  /**
   * The session guard's word on an identity (session-guard.ts `onSupply`): each container using it
   * gets a status note when it cannot be supplied, and `status` the same words.
   */
  onSupply(report: SupplyReport): void {
    for (const identity of this.troubles.apply(report)) {
      for (const managed of this.usersOf(identity)) this.updateNotes(managed);
    }
  }

  /**
   * (Re)syncs a container. Requests while one runs are coalesced into one more run, so a
   * burst of events costs at most two pushes. Never rejects: a failure is logged.
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
        try {
          await this.syncOnce(id, next);
        } catch (err) {
          // One container's failure must not end the agent that serves all the others.
          this.options.deps.logger.warn(`cannot sync container ${id.slice(0, 12)}: ${messageOf(err)}`);
        }
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
    return [...this.containers.values()].filter((m) => m.resolved.some((r) => supplyKey(r) === identity));
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
      checkParticipation(details, participation);
    } catch (err) {
      managed.resolved = [];
      managed.unresolved.clear();
      this.setTrouble(managed, reasonForFailure(err));
      this.recordFailure(managed, err);
      return;
    }
    // A profile whose role chain does not resolve keeps only itself from the container.
    const settled = await Promise.allSettled(
      participation.profiles.map((name) => resolveProfile(deps, name, { forContainer: true })),
    );
    // Any other failure (a profile kept out of containers, one that is not there) refuses the
    // container's request as a whole: it gets none of its profiles, as before it asked for chains.
    const refusal = settled.find((r) => r.status === "rejected" && !isChainFault(r.reason));
    if (refusal?.status === "rejected") {
      managed.resolved = [];
      managed.unresolved.clear();
      this.setTrouble(managed, reasonForFailure(refusal.reason));
      this.recordFailure(managed, refusal.reason);
      return;
    }
    const failures = this.resolveEach(managed, settled);
    // Resolved again: a trouble of the container's own may be over, one of its identities may not be.
    delete managed.trouble;
    this.updateNotes(managed);
    if (managed.resolved.length === 0) {
      this.recordFailure(managed, failures[0]);
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
      unresolved: new Map(),
      pushedKeys: new Map(),
      notes: newNoteState(),
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
    let fetched = false;
    try {
      const t0 = performance.now();
      const { supplied, missed } = await obtainEach(managed.resolved, (r) => guard.obtain(r, { signal }));
      fetched = true;
      const t1 = performance.now();
      const profiles = supplied.map(({ resolved, credentials }) => toDelivery(resolved, credentials));
      await this.noteWriter.beforePush(managed);
      const result = await pushCredentials(engine, details, profiles, {
        ...(participation.user === undefined ? {} : { user: participation.user }),
        ...(supplied.length === participation.profiles.length
          ? {}
          : { configProfiles: this.settingsOf(managed) }),
        signal,
      }).finally(() => {
        this.noteWriter.afterPush(managed);
      });
      const expiration = Math.min(...supplied.map(({ credentials }) => credentials.expiration));
      managed.lastPush = deps.clock.now();
      managed.credentialExpiry = expiration;
      delete managed.lastError;
      delete managed.trouble;
      // A trouble reported while the push ran (a sign-out) still wants its note.
      this.updateNotes(managed);
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
      else if (PushRefusedError.is(err)) this.setTrouble(managed, reasonForFailure(err));
      this.recordFailure(managed, err);
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
      if (this.troubles.has(identity)) this.options.retryFetch?.(identity);
    }
  }

  /**
   * Keeps the profiles that resolved and, for the others, why not (since when the first failed);
   * each new reason is logged once. Returns the errors.
   */
  private resolveEach(
    managed: ManagedContainer,
    settled: PromiseSettledResult<ResolvedProfile>[],
  ): unknown[] {
    const { deps } = this.options;
    const { profiles } = managed.participation;
    const unresolved = new Map<string, Trouble>();
    const errors: unknown[] = [];
    managed.resolved = [];
    settled.forEach((result, i) => {
      const name = profiles[i] ?? "";
      if (result.status === "fulfilled") {
        managed.resolved.push(result.value);
        return;
      }
      errors.push(result.reason);
      const reason = reasonForFailure(result.reason);
      const before = managed.unresolved.get(name);
      unresolved.set(name, { ...reason, since: before?.since ?? deps.clock.now(), transient: false });
      const line = `container ${managed.details.name}, profile ${name}: ${messageOf(result.reason)}`;
      if (before?.why === reason.why) deps.logger.debug(line);
      else deps.logger.warn(line);
    });
    managed.unresolved = unresolved;
    return errors;
  }

  private setTrouble(managed: ManagedContainer, reason: Reason): void {
    const since = managed.trouble?.since ?? this.options.deps.clock.now();
    managed.trouble = { ...reason, since, transient: false };
  }

  /**
   * The notes the container should hold: for each profile, why the agent cannot supply it (the
   * container's own trouble covers all its profiles, since a push is all or nothing).
   */
  private notesOf(managed: ManagedContainer): StatusNote[] {
    const { profiles } = managed.participation;
    const { trouble } = managed;
    if (trouble !== undefined) {
      return profiles
        .filter(isSyncable)
        .map((profile) => ({ profile, text: noteText(profile, trouble, trouble.since) }));
    }
    const notes: StatusNote[] = [];
    for (const profile of profiles) {
      const r = managed.resolved.find((each) => each.session.profileName === profile);
      const told = r === undefined ? managed.unresolved.get(profile) : this.troubles.toTell(supplyKey(r));
      if (told !== undefined) notes.push({ profile, text: noteText(profile, told, told.since) });
    }
    return notes;
  }

  /** Every profile the container's config can name, with the settings a credentials push would give it. */
  private settingsOf(managed: ManagedContainer): ProfileSettings[] {
    return managed.participation.profiles.filter(isSyncable).map((name) => {
      const resolved = managed.resolved.find((r) => r.session.profileName === name);
      return { name, ...(resolved === undefined ? {} : outputSettings(resolved)) };
    });
  }

  /**
   * Brings the container's status notes in line with what is known, and `status` with them (the
   * first note's words); returns that text, if any.
   */
  private updateNotes(managed: ManagedContainer): string | undefined {
    const notes = this.notesOf(managed);
    this.noteWriter.want(managed, this.settingsOf(managed), notes);
    const shown = notes[0]?.text;
    const previous = managed.lastError;
    if (shown !== undefined) managed.lastError = shown;
    else if (previous !== undefined && previous === managed.notes.shown) delete managed.lastError;
    managed.notes.shown = shown;
    if (managed.lastError !== previous) this.options.onChange();
    return shown;
  }

  private recordFailure(managed: ManagedContainer, err: unknown): void {
    const { deps, emitter } = this.options;
    const { details } = managed;
    const message = messageOf(err);
    const previous = managed.lastError;
    // What the container is told, when it can be, is what status shows.
    const shown = this.updateNotes(managed) ?? message;
    // The same failure on every reconcile or round is logged once (status keeps showing it).
    const line = `container ${details.name} (${managed.participation.profiles.join(",")}): ${message}`;
    if (shown === previous) deps.logger.debug(line);
    else deps.logger.warn(line);
    managed.lastError = shown;
    emitter.emit("pushFailed", {
      containerId: details.id,
      containerName: details.name,
      error: message,
      at: deps.clock.now(),
    });
    this.options.onChange();
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
