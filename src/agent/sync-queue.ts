import type { Logger } from "../runtime/logger.js";
import type { SyncReason } from "./agent-events.js";
import { messageOf } from "../runtime/message-of.js";

interface Entry {
  again: SyncReason | undefined;
  done: Promise<void>;
}

/**
 * One sync per container at a time. Requests while one runs are coalesced into one more run, so a
 * burst of events costs at most two syncs.
 */
export class SyncQueue {
  private readonly syncs = new Map<string, Entry>();

  constructor(
    private readonly run: (id: string, reason: SyncReason) => Promise<void>,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
  ) {}

  /** Never rejects: a failure is logged. */
  request(id: string, reason: SyncReason): Promise<void> {
    const running = this.syncs.get(id);
    if (running) {
      running.again = reason;
      return running.done;
    }
    const entry: Entry = { again: reason, done: Promise.resolve() };
    this.syncs.set(id, entry);
    entry.done = (async () => {
      while (entry.again !== undefined && !this.signal.aborted) {
        const next = entry.again;
        entry.again = undefined;
        try {
          await this.run(id, next);
        } catch (err) {
          // One container's failure must not end the agent that serves all the others.
          this.logger.warn(`cannot sync container ${id.slice(0, 12)}: ${messageOf(err)}`);
        }
      }
    })().finally(() => {
      this.syncs.delete(id);
    });
    return entry.done;
  }
}
