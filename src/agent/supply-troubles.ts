import type { Reason, SupplyReport } from "./status-note.js";
import { reasonForFailure, reasonForSignIn } from "./status-note.js";

/**
 * A passing failure (throttling, 5xx, the network) is retried quietly; one that lasts this long
 * is told to the containers too.
 */
export const TRANSIENT_NOTE_AFTER_MS = 2 * 60_000;

export interface Trouble extends Reason {
  /** When the agent last could get the credentials, or first could not. */
  since: number;
  transient: boolean;
}

/** Per identity: why the agent cannot get its credentials right now, and since when. */
export class SupplyTroubles {
  private readonly byIdentity = new Map<string, Trouble>();

  constructor(
    private readonly now: () => number,
    private readonly transientGraceMs = TRANSIENT_NOTE_AFTER_MS,
  ) {}

  /** Takes in a report; returns the identities it concerns. */
  apply(report: SupplyReport): readonly string[] {
    switch (report.kind) {
      case "ok":
        return this.byIdentity.delete(report.identity) ? [report.identity] : [];
      case "failed":
        this.set(report.identity, reasonForFailure(report.error, report.resolved), report.transient);
        return [report.identity];
      case "signIn": {
        const reason = reasonForSignIn(report.session, report.waiting);
        for (const identity of report.identities) this.set(identity, reason, false);
        return report.identities;
      }
    }
  }

  has(identity: string): boolean {
    return this.byIdentity.has(identity);
  }

  /** The trouble to tell a container of: a passing one only once it has lasted. */
  toTell(identity: string): Trouble | undefined {
    const trouble = this.byIdentity.get(identity);
    if (trouble?.transient === true && this.now() - trouble.since < this.transientGraceMs) return undefined;
    return trouble;
  }

  private set(identity: string, reason: Reason, transient: boolean): void {
    // The trouble may change its reason (a revoked role, then a dead session): it began when the first did.
    const since = this.byIdentity.get(identity)?.since ?? this.now();
    this.byIdentity.set(identity, { ...reason, since, transient });
  }
}
