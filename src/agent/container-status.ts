import { supplyKey } from "../credentials/supply-key.js";
import type { StatusNote } from "../delivery/push-notes.js";
import type { Deps } from "../runtime/deps.js";
import type { AgentEmitter } from "./agent-events.js";
import type { NoteWriter } from "./container-notes.js";
import { isSyncable, settingsOf } from "./container-profiles.js";
import type { ManagedContainer } from "./managed-container.js";
import type { Reason } from "./status-note.js";
import { noteText } from "./status-note.js";
import type { SupplyTroubles } from "./supply-troubles.js";
import { messageOf } from "../runtime/message-of.js";

export interface ContainerStatusOptions {
  deps: Deps;
  emitter: AgentEmitter;
  /** Why an identity's credentials cannot be had now, as the session guard reports it. */
  troubles: SupplyTroubles;
  noteWriter: NoteWriter;
  onChange: () => void;
}

/**
 * What is said of a container that cannot be supplied: its status notes, the error `status`
 * shows, the log line and the `pushFailed` event.
 */
export class ContainerStatus {
  constructor(private readonly options: ContainerStatusOptions) {}

  setTrouble(managed: ManagedContainer, reason: Reason): void {
    const since = managed.trouble?.since ?? this.options.deps.clock.now();
    managed.trouble = { ...reason, since, transient: false };
  }

  /**
   * Brings the container's status notes in line with what is known, and `status` with them (the
   * first note's words); returns that text, if any.
   */
  updateNotes(managed: ManagedContainer): string | undefined {
    const notes = this.notesOf(managed);
    this.options.noteWriter.want(managed, settingsOf(managed), notes);
    const shown = notes[0]?.text;
    const previous = managed.lastError;
    if (shown !== undefined) managed.lastError = shown;
    else if (previous !== undefined && previous === managed.notes.shown) delete managed.lastError;
    managed.notes.shown = shown;
    if (managed.lastError !== previous) this.options.onChange();
    return shown;
  }

  recordFailure(managed: ManagedContainer, err: unknown): void {
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
      const told =
        r === undefined ? managed.unresolved.get(profile) : this.options.troubles.toTell(supplyKey(r));
      if (told !== undefined) notes.push({ profile, text: noteText(profile, told, told.since) });
    }
    return notes;
  }
}
