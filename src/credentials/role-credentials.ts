/** Short-lived role credentials from GetRoleCredentials. */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch ms. */
  expiration: number;
  /** Epoch ms when this process received them, when known (not for those read from the AWS CLI's cache). */
  issuedAt?: number;
}

/** Which role a set of credentials is for: one cache entry and one fetch per identity. */
export interface RoleIdentity {
  /** The sso-session name, or undefined for legacy profiles (then startUrl identifies the session). */
  sessionName: string | undefined;
  startUrl: string;
  accountId: string;
  roleName: string;
}

export function identityKey(identity: RoleIdentity): string {
  const session = identity.sessionName ?? `url:${identity.startUrl}`;
  return `${session}|${identity.accountId}|${identity.roleName}`;
}
