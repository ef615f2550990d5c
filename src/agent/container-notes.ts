import type { ProfileSettings } from "../delivery/profile-files.js";
import type { StatusNote } from "../delivery/push-notes.js";
import { pushStatusNotes } from "../delivery/push-notes.js";
import type { DockerEngine } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import type { AgentEmitter } from "./agent-events.js";
import type { ManagedContainer } from "./managed-container.js";

/** The status notes of one container: what it holds, what it should hold, and the exec between. */
export interface NoteState {
  /** profile → text, as the last note or credentials push left them. */
  held: Map<string, string>;
  wanted: readonly StatusNote[];
  /** A note push runs now. */
  writing: Promise<void> | undefined;
  /** A credentials push runs now: no note push starts until it has ended. */
  pushing: boolean;
  /** The note text `status` shows for the container (its lastError), if that came from here. */
  shown?: string | undefined;
}

export function newNoteState(): NoteState {
  return { held: new Map(), wanted: [], writing: undefined, pushing: false };
}

export interface NoteWriterOptions {
  deps: Deps;
  engine: DockerEngine;
  emitter: AgentEmitter;
  signal: AbortSignal;
  /** Note pushes in flight at once over all containers. */
  concurrency: number;
  /** A note push running longer than this frees its slot (it is bounded by the exec time limit). */
  patienceMs: number;
}

function same(held: ReadonlyMap<string, string>, wanted: readonly StatusNote[]): boolean {
  return held.size === wanted.length && wanted.every((n) => held.get(n.profile) === n.text);
}

/**
 * Writes status notes into containers. A note push is one more bounded exec: pushes to one
 * container never overlap (a note waits for a credentials push and the other way round), a
 * request while one runs is taken up when it ends, and a few hung containers cannot hold every
 * slot. Notes are only added or changed here: the next credentials push removes them all.
 */
export class NoteWriter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly options: NoteWriterOptions) {}

  /** The container should hold `wanted`; writes them unless it does already. Never rejects. */
  want(managed: ManagedContainer, settings: readonly ProfileSettings[], wanted: readonly StatusNote[]): void {
    const state = managed.notes;
    state.wanted = wanted;
    if (state.writing || state.pushing || wanted.length === 0 || same(state.held, wanted)) return;
    state.writing = this.write(managed, settings).finally(() => {
      state.writing = undefined;
    });
  }

  /** Call before a credentials push's exec; wait for what it returns. */
  beforePush(managed: ManagedContainer): Promise<void> {
    managed.notes.pushing = true;
    return managed.notes.writing ?? Promise.resolve();
  }

  /** A successful credentials push removed every note; a failed one may have done anything. */
  afterPush(managed: ManagedContainer): void {
    managed.notes.pushing = false;
    managed.notes.held.clear();
  }

  private async write(managed: ManagedContainer, settings: readonly ProfileSettings[]): Promise<void> {
    const { deps, engine, emitter } = this.options;
    const state = managed.notes;
    const signal = AbortSignal.any([this.options.signal, managed.controller.signal]);
    const { details } = managed;
    // A function, not a property read, so the compiler does not assume it stays false in the loop.
    const stopped = () => signal.aborted;
    while (!state.pushing && !stopped() && !same(state.held, state.wanted)) {
      const notes = state.wanted;
      try {
        await this.inSlot(() =>
          pushStatusNotes(engine, details, settings, notes, {
            ...(managed.participation.user === undefined ? {} : { user: managed.participation.user }),
            signal,
          }),
        );
      } catch (err) {
        // A note is an extra: the container's pushes fail the same way, and those are logged.
        if (!stopped())
          deps.logger.debug(`cannot leave a status note in ${details.name}: ${(err as Error).message}`);
        return;
      }
      state.held = new Map(notes.map((n) => [n.profile, n.text]));
      deps.logger.debug(`left a status note in ${details.name} for ${notes.map((n) => n.profile).join(",")}`);
      emitter.emit("noted", {
        containerId: details.id,
        containerName: details.name,
        notes,
        at: deps.clock.now(),
      });
    }
  }

  private async inSlot<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.options.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      this.running--;
      this.waiting.shift()?.();
    };
    const timer = new AbortController();
    this.options.deps.clock.sleep(this.options.patienceMs, timer.signal).then(free, () => undefined);
    try {
      return await task();
    } finally {
      timer.abort();
      free();
    }
  }
}
