/** What a successful CreateToken gives us, before it is written to the cache. */
export interface TokenGrant {
  accessToken: string;
  /** Absolute expiry, epoch ms. */
  expiresAt: number;
  refreshToken?: string | undefined;
}

export type { ClientRegistration } from "../aws-files/registration-cache.js";

export const EXPIRED_AUTHORIZATION_MESSAGE =
  "The pending authorization to retrieve an SSO token has expired. The login flow to retrieve an SSO token must be restarted.";
