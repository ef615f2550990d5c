import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import type { ContainerDetails } from "../docker/engine.js";
import type { SyncReason } from "./agent-events.js";
import type { NoteState } from "./container-notes.js";
import { newNoteState } from "./container-notes.js";
import type { Participation } from "./participation.js";
import type { Trouble } from "./supply-troubles.js";

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

export interface PushRequest {
  reason: SyncReason;
  /** Undefined: push whatever the container holds (a start, a reconcile). */
  want: PushWant | undefined;
}

/**
 * "busy": another push was under way, this one follows it; "current": the container had the
 * credentials; "skipped": the container is gone, stopping, or has no profiles to push.
 */
export type PushOutcome = "pushed" | "current" | "busy" | "failed" | "skipped";

export function newManagedContainer(
  details: ContainerDetails,
  participation: Participation,
): ManagedContainer {
  return {
    details,
    participation,
    resolved: [],
    unresolved: new Map(),
    pushedKeys: new Map(),
    notes: newNoteState(),
    controller: new AbortController(),
    busy: false,
  };
}
