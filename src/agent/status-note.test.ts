import { describe, expect, it } from "vitest";
import type { SessionRef } from "../auth/session-ref.js";
import { toServiceError } from "../auth/service-errors.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { ProfileError } from "../runtime/errors.js";
import { MAX_NOTE_CHARS } from "../delivery/push-notes.js";
import { noteText, reasonForFailure, reasonForSignIn } from "./status-note.js";
import { SupplyTroubles, TRANSIENT_NOTE_AFTER_MS } from "./supply-troubles.js";

const SESSION: SessionRef = {
  kind: "sso-session",
  sessionName: "my-sso",
  startUrl: "https://example.awsapps.com/start",
  ssoRegion: "us-east-1",
  scopes: ["sso:account:access"],
  profileName: "ops",
};
const RESOLVED = {
  session: SESSION,
  identity: {
    sessionName: "my-sso",
    startUrl: SESSION.startUrl,
    accountId: "111111111111",
    roleName: "ReadOnlyAccess",
  },
} as ResolvedProfile;
const SINCE = Date.UTC(2026, 11, 5, 10, 0, 0, 450);

/** An AWS SDK error as GetRoleCredentials rejects with it, turned into ours as the credential source does. */
function sdkError(name: string, status: number): unknown {
  const err = Object.assign(new Error(name === "ForbiddenException" ? "No access" : "Too many requests"), {
    name,
    $metadata: { httpStatusCode: status },
  });
  return toServiceError(err, { operation: "GetRoleCredentials", profileName: "ops", endpoint: "https://x" });
}

describe("status note text", () => {
  it("names the role, the account and the service's error for a role no longer assigned", () => {
    const reason = reasonForFailure(sdkError("ForbiddenException", 403), RESOLVED);
    expect(noteText("ops", reason, SINCE)).toBe(
      "the agent on the host cannot get credentials for profile ops: role ReadOnlyAccess in account 111111111111 is no longer assigned to you (ForbiddenException) — since 2026-12-05T10:00:00Z; on the host run `sso-docker configure --profile ops`",
    );
  });

  it("cuts a long reason to fit the note, never the command after it", () => {
    const long = {
      why: `STS denied AssumeRole: ${"arn:aws:iam::444444444444:role/x ".repeat(20)}`,
      next: "sso-docker status",
    };
    const text = noteText("app", long, SINCE);
    expect(Array.from(text)).toHaveLength(MAX_NOTE_CHARS);
    expect(text).toMatch(
      /^the agent on the host cannot get credentials for profile app: STS denied AssumeRole: arn:/,
    );
    expect(text.endsWith("… — since 2026-12-05T10:00:00Z; on the host run `sso-docker status`")).toBe(true);
    // A short one is left whole.
    expect(noteText("app", { why: "short", next: "sso-docker status" }, SINCE)).toContain(": short — since");
  });

  it("says which session waits for a sign-in, and the command that gives one", () => {
    expect(noteText("ops", reasonForSignIn(SESSION, "signedOut"), SINCE)).toBe(
      "the agent on the host cannot get credentials for profile ops: you are signed out of sso-session my-sso — since 2026-12-05T10:00:00Z; on the host run `sso-docker login --profile ops`",
    );
    expect(reasonForSignIn(SESSION, "login").why).toBe(
      "your sign-in to sso-session my-sso has expired and the agent is waiting for a new one",
    );
  });

  it("takes any other error's message, and its hint only when that is one command", () => {
    const command = new ProfileError('Profile "x" was not found in /home/u/.aws/config.', {
      hint: "sso-docker configure --profile x",
    });
    expect(reasonForFailure(command)).toEqual({
      why: 'Profile "x" was not found in /home/u/.aws/config',
      next: "sso-docker configure --profile x",
    });
    const prose = new ProfileError('Profile "x" is kept out of containers.', {
      hint: "Use it on the host only (sso-docker credentials --profile x), or remove that line.",
    });
    expect(reasonForFailure(prose).next).toBe("sso-docker status");
    expect(reasonForFailure("plain").why).toBe("plain");
  });
});

describe("SupplyTroubles", () => {
  it("keeps when a trouble began across reports, and forgets it once credentials come", () => {
    let now = SINCE;
    const troubles = new SupplyTroubles(() => now);
    const failed = { kind: "failed", identity: "k", resolved: RESOLVED, transient: false } as const;
    expect(troubles.apply({ ...failed, error: sdkError("ForbiddenException", 403) })).toEqual(["k"]);
    now += 60_000;
    troubles.apply({ kind: "signIn", identities: ["k", "j"], session: SESSION, waiting: "login" });
    expect(troubles.toTell("k")).toMatchObject({
      since: SINCE,
      why: expect.stringContaining("sign-in") as string,
    });
    expect(troubles.toTell("j")?.since).toBe(now);
    expect(troubles.apply({ kind: "ok", identity: "k" })).toEqual(["k"]);
    expect(troubles.toTell("k")).toBeUndefined();
    expect(troubles.apply({ kind: "ok", identity: "k" })).toEqual([]);
  });

  it("tells of a passing failure (throttling, 5xx, network) only once it has lasted", () => {
    let now = SINCE;
    const troubles = new SupplyTroubles(() => now);
    const report = { kind: "failed", identity: "k", resolved: RESOLVED, transient: true } as const;
    troubles.apply({ ...report, error: sdkError("TooManyRequestsException", 429) });
    expect(troubles.has("k")).toBe(true);
    expect(troubles.toTell("k")).toBeUndefined();
    now += TRANSIENT_NOTE_AFTER_MS;
    troubles.apply({ ...report, error: sdkError("TooManyRequestsException", 429) });
    expect(troubles.toTell("k")).toMatchObject({ since: SINCE, transient: true, next: "sso-docker status" });
  });
});
