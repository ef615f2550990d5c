import type { SessionRef } from "../auth/session-ref.js";
import { describeSession, loginHint } from "../auth/session-ref.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { MAX_NOTE_CHARS } from "../delivery/push-notes.js";
import { isoSeconds } from "../runtime/time-format.js";
import { clauseOf } from "../runtime/message-of.js";

/** What the session guard tells the agent about getting one identity's credentials. */
export type SupplyReport =
  | { kind: "ok"; identity: string }
  | { kind: "failed"; identity: string; resolved: ResolvedProfile; error: unknown; transient: boolean }
  /** The session needs a sign-in: the agent asked for one, or the user signed out. */
  | { kind: "signIn"; identities: readonly string[]; session: SessionRef; waiting: "login" | "signedOut" };

/** Why the agent cannot supply a profile, and the command on the host that helps. */
export interface Reason {
  why: string;
  next: string;
}

const ASSIGNMENT_ERRORS = new Set(["ForbiddenException", "ResourceNotFoundException"]);
/** A hint that is one command of ours (not a sentence) can follow "on the host run". */
const COMMAND = /^sso-docker [\w ./@+=:,-]+$/;

function nameOf(value: unknown): string | undefined {
  const name = (value as { name?: unknown } | null | undefined)?.name;
  return typeof name === "string" ? name : undefined;
}

/**
 * A failure to get or push credentials. IAM Identity Center refusing the role gets words of its
 * own (the service's message only says "No access"); anything else says what its message says,
 * and its hint when that is a command.
 */
export function reasonForFailure(err: unknown, resolved?: ResolvedProfile): Reason {
  const cause = nameOf((err as { cause?: unknown } | null)?.cause);
  if (resolved !== undefined && cause !== undefined && ASSIGNMENT_ERRORS.has(cause)) {
    const { roleName, accountId } = resolved.identity;
    return {
      why: `role ${roleName} in account ${accountId} is no longer assigned to you (${cause})`,
      next: `sso-docker configure --profile ${resolved.session.profileName}`,
    };
  }
  const hint = (err as { hint?: unknown } | null)?.hint;
  const command = typeof hint === "string" ? hint.replace(/\.$/, "") : "";
  return { why: clauseOf(err), next: COMMAND.test(command) ? command : "sso-docker status" };
}

export function reasonForSignIn(session: SessionRef, waiting: "login" | "signedOut"): Reason {
  const name = describeSession(session);
  return {
    why:
      waiting === "login"
        ? `your sign-in to ${name} has expired and the agent is waiting for a new one`
        : `you are signed out of ${name}`,
    next: loginHint(session),
  };
}

/**
 * The note a container's helper prints and `status` shows, e.g. "the agent on the host cannot get
 * credentials for profile dev: role ReadOnlyAccess in account 111111111111 is no longer assigned
 * to you (ForbiddenException) — since 2026-12-05T10:00:00Z; on the host run `sso-docker configure
 * --profile dev`". Names and times only: never a key or token.
 */
export function noteText(profile: string, reason: Reason, since: number): string {
  const head = `the agent on the host cannot get credentials for profile ${profile}: `;
  const tail = ` — since ${isoSeconds(since)}; on the host run \`${reason.next}\``;
  // A long reason (STS quotes both ARNs) is cut, never the command that follows it.
  const room = MAX_NOTE_CHARS - Array.from(head + tail).length;
  const why = Array.from(reason.why);
  return `${head}${why.length > room ? `${why.slice(0, Math.max(0, room - 1)).join("")}…` : reason.why}${tail}`;
}
