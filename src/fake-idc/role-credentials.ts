import { randomBytes } from "node:crypto";
import type { Clock } from "../runtime/clock.js";
import { randomAccessKeyId, randomToken } from "./secrets.js";
import type { IssuedCredential, Lifetimes } from "./types.js";

export interface RoleCredentialRecord extends IssuedCredential {
  secretAccessKey: string;
  sessionToken: string;
}

/**
 * Role credentials handed out by GetRoleCredentials and AssumeRole, kept so STS can check
 * signatures made with them (and so AssumeRole can be called with AssumeRole's results).
 */
export class RoleCredentialStore {
  private readonly byKeyId = new Map<string, RoleCredentialRecord>();

  constructor(
    private readonly clock: Clock,
    private readonly lifetimes: Lifetimes,
  ) {}

  /** GetRoleCredentials: the signed-in user's session of an assigned role. */
  issue(accountId: string, roleName: string, userName: string): RoleCredentialRecord {
    return this.create({
      accountId,
      roleName,
      sessionName: userName,
      issuedBy: "GetRoleCredentials",
      seconds: this.lifetimes.roleCredentialSeconds,
    });
  }

  /** AssumeRole: `seconds` as granted (DurationSeconds, within the role's limits). */
  issueAssumed(
    accountId: string,
    roleName: string,
    sessionName: string,
    seconds: number,
  ): RoleCredentialRecord {
    const cap = this.lifetimes.assumedRoleCapSeconds;
    return this.create({
      accountId,
      roleName,
      sessionName,
      issuedBy: "AssumeRole",
      seconds: cap > 0 ? Math.min(cap, seconds) : seconds,
    });
  }

  find(accessKeyId: string): RoleCredentialRecord | undefined {
    return this.byKeyId.get(accessKeyId);
  }

  isExpired(record: RoleCredentialRecord): boolean {
    return this.clock.now() >= record.expiration;
  }

  list(): IssuedCredential[] {
    return [...this.byKeyId.values()].map(
      ({ accessKeyId, accountId, roleName, expiration, issuedBy, sessionName }) => ({
        accessKeyId,
        accountId,
        roleName,
        expiration,
        issuedBy,
        sessionName,
      }),
    );
  }

  expireAll(): void {
    const now = this.clock.now();
    for (const record of this.byKeyId.values()) record.expiration = Math.min(record.expiration, now);
  }

  private create(
    input: Omit<IssuedCredential, "accessKeyId" | "expiration"> & { seconds: number },
  ): RoleCredentialRecord {
    // Whole seconds, as the real services report them.
    const now = Math.floor(this.clock.now() / 1000) * 1000;
    let accessKeyId = randomAccessKeyId();
    while (this.byKeyId.has(accessKeyId)) accessKeyId = randomAccessKeyId();
    const { seconds, ...identity } = input;
    const record: RoleCredentialRecord = {
      accessKeyId,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: randomToken("IQoJb3JpZ2luX2VjEFake", 180),
      ...identity,
      expiration: now + seconds * 1000,
    };
    this.byKeyId.set(accessKeyId, record);
    return record;
  }
}
