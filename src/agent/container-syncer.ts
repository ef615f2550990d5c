import { supplyKey } from "../credentials/supply-key.js";
import type { ContainerDetails, DockerEngine } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import type { AgentEmitter, SyncReason } from "./agent-events.js";
import type { RefusedState } from "./agent-state.js";
import { checkBinding } from "./binding.js";
import { NoteWriter } from "./container-notes.js";
import { checkParticipation, resolveContainerProfiles } from "./container-profiles.js";
import { ContainerPusher } from "./container-push.js";
import { ContainerRefusals } from "./container-refusals.js";
import { ContainerStatus } from "./container-status.js";
import type { ManagedContainer, PushOutcome, PushWant } from "./managed-container.js";
import { newManagedContainer } from "./managed-container.js";
import type { Participation, ParticipationRule } from "./participation.js";
import { resolveParticipation } from "./devcontainer.js";
import { FeatureImageReader } from "./feature-image.js";
import { PUSH_PATIENCE_MS } from "./refresh-dispatch.js";
import type { SessionGuard } from "./session-guard.js";
import type { SupplyReport } from "./status-note.js";
import { reasonForFailure } from "./status-note.js";
import { SupplyTroubles } from "./supply-troubles.js";
import { SyncQueue } from "./sync-queue.js";
import { messageOf } from "../runtime/message-of.js";

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

function isNotFound(err: unknown): boolean {
  const cause = (err as { cause?: { statusCode?: unknown } } | undefined)?.cause;
  return cause?.statusCode === 404;
}

/** Inspects, resolves and pushes: everything that happens to one container. */
export class ContainerSyncer {
  readonly containers = new Map<string, ManagedContainer>();
  /** Bumped when a container is forgotten, so a sync that started before does not bring it back. */
  private readonly epochs = new Map<string, number>();

  private readonly featureImages: FeatureImageReader;
  /** Why an identity's credentials cannot be had now, as the session guard reports it. */
  private readonly troubles: SupplyTroubles;
  private readonly status: ContainerStatus;
  private readonly refusals: ContainerRefusals;
  private readonly pusher: ContainerPusher;
  private readonly queue: SyncQueue;

  constructor(private readonly options: SyncerOptions) {
    const { deps, engine, emitter, signal, onChange } = options;
    this.featureImages = new FeatureImageReader(engine, { signal });
    this.troubles = new SupplyTroubles(() => deps.clock.now());
    const noteWriter = new NoteWriter({
      deps,
      engine,
      emitter,
      signal,
      concurrency: 8,
      patienceMs: PUSH_PATIENCE_MS,
    });
    this.status = new ContainerStatus({ deps, emitter, troubles: this.troubles, noteWriter, onChange });
    this.refusals = new ContainerRefusals({ deps, emitter, onChange });
    this.pusher = new ContainerPusher({
      deps,
      engine,
      guard: options.guard,
      emitter,
      signal,
      status: this.status,
      troubles: this.troubles,
      noteWriter,
      isCurrent: (managed) => this.containers.get(managed.details.id) === managed,
      scheduleRefresh: options.scheduleRefresh,
      retryFetch: options.retryFetch,
      onChange,
    });
    this.queue = new SyncQueue((id, reason) => this.syncOnce(id, reason), deps.logger, signal);
  }

  /** Running containers that ask for credentials but are not bound to this user, for `status`. */
  get refused(): ReadonlyMap<string, RefusedState> {
    return this.refusals.refused;
  }

  /**
   * The session guard's word on an identity (session-guard.ts `onSupply`): each container using it
   * gets a status note when it cannot be supplied, and `status` the same words.
   */
  onSupply(report: SupplyReport): void {
    for (const identity of this.troubles.apply(report)) {
      for (const managed of this.usersOf(identity)) this.status.updateNotes(managed);
    }
  }

  /**
   * (Re)syncs a container. Requests while one runs are coalesced into one more run, so a
   * burst of events costs at most two pushes. Never rejects: a failure is logged.
   */
  request(id: string, reason: SyncReason): Promise<void> {
    return this.queue.request(id, reason);
  }

  /** `destroyed`: the container is gone for good, not just stopped. */
  forget(id: string, destroyed = false): void {
    this.epochs.set(id, (this.epochs.get(id) ?? 0) + 1);
    this.refusals.forget(id, destroyed);
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
    return this.pusher.push(managed, reason, want);
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
      this.refusals.refuse(details, participation, binding, () => {
        this.drop(details);
      });
      return;
    }
    this.refusals.accept(id);
    const managed = this.upsert(details, participation);
    try {
      checkParticipation(details, participation);
    } catch (err) {
      managed.resolved = [];
      managed.unresolved.clear();
      this.status.setTrouble(managed, reasonForFailure(err));
      this.status.recordFailure(managed, err);
      return;
    }
    const verdict = await resolveContainerProfiles(deps, managed);
    if (verdict.refused) {
      this.status.setTrouble(managed, reasonForFailure(verdict.error));
      this.status.recordFailure(managed, verdict.error);
      return;
    }
    // Resolved again: a trouble of the container's own may be over, one of its identities may not be.
    delete managed.trouble;
    this.status.updateNotes(managed);
    if (managed.resolved.length === 0) {
      this.status.recordFailure(managed, verdict.failures[0]);
      return;
    }
    await this.push(managed, reason);
  }

  /** A container supplied before and refused now: no further push or refresh. */
  private drop(details: ContainerDetails): void {
    const managed = this.containers.get(details.id);
    if (!managed) return;
    managed.controller.abort(new Error(`container ${details.name} is no longer bound to this user`));
    this.containers.delete(details.id);
  }

  private upsert(details: ContainerDetails, participation: Participation): ManagedContainer {
    const previous = this.containers.get(details.id);
    if (previous) {
      previous.details = details;
      previous.participation = participation;
      return previous;
    }
    const managed = newManagedContainer(details, participation);
    this.containers.set(details.id, managed);
    this.options.onChange();
    return managed;
  }
}
