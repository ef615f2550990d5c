import { randomBytes } from "node:crypto";
import type { Clock } from "../runtime/clock.js";
import { randomAccessKeyId, randomToken } from "./secrets.js";
import type { IssuedCredential, Lifetimes } from "./types.js";

export interface RoleCredentialRecord extends IssuedCredential {
  secretAccessKey: string;
  sessionToken: string;
  userName: string;
}

/** Role credentials handed out by GetRoleCredentials, kept so STS can check signatures made with them. */
export class RoleCredentialStore {
  private readonly byKeyId = new Map<string, RoleCredentialRecord>();

  constructor(
    private readonly clock: Clock,
    private readonly lifetimes: Lifetimes,
  ) {}

  issue(accountId: string, roleName: string, userName: string): RoleCredentialRecord {
    // Whole seconds, as the real service reports them.
    const now = Math.floor(this.clock.now() / 1000) * 1000;
    let accessKeyId = randomAccessKeyId();
    while (this.byKeyId.has(accessKeyId)) accessKeyId = randomAccessKeyId();
    const record: RoleCredentialRecord = {
      accessKeyId,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: randomToken("IQoJb3JpZ2luX2VjEFake", 180),
      accountId,
      roleName,
      userName,
      expiration: now + this.lifetimes.roleCredentialSeconds * 1000,
    };
    this.byKeyId.set(accessKeyId, record);
    return record;
  }

  find(accessKeyId: string): RoleCredentialRecord | undefined {
    return this.byKeyId.get(accessKeyId);
  }

  isExpired(record: RoleCredentialRecord): boolean {
    return this.clock.now() >= record.expiration;
  }

  list(): IssuedCredential[] {
    return [...this.byKeyId.values()].map(({ accessKeyId, accountId, roleName, expiration }) => ({
      accessKeyId,
      accountId,
      roleName,
      expiration,
    }));
  }

  expireAll(): void {
    const now = this.clock.now();
    for (const record of this.byKeyId.values()) record.expiration = Math.min(record.expiration, now);
  }
}
