import { LoginError } from "../runtime/errors.js";

/** What a successful CreateToken gives us, before it is written to the cache. */
export interface TokenGrant {
  accessToken: string;
  /** Absolute expiry, epoch ms. */
  expiresAt: number;
  refreshToken?: string | undefined;
}

export type { ClientRegistration } from "../aws-files/registration-cache.js";

/** CreateToken's answer as a grant; `issuedAt` is when the request was sent (expiresIn counts from then). */
export function toTokenGrant(
  token: {
    accessToken?: string | undefined;
    expiresIn?: number | undefined;
    refreshToken?: string | undefined;
  },
  issuedAt: number,
): TokenGrant {
  if (!token.accessToken) throw new LoginError("IAM Identity Center returned no access token.");
  return {
    accessToken: token.accessToken,
    expiresAt: issuedAt + (token.expiresIn ?? 3600) * 1000,
    refreshToken: token.refreshToken,
  };
}

export const EXPIRED_AUTHORIZATION_MESSAGE =
  "The pending authorization to retrieve an SSO token has expired. The login flow to retrieve an SSO token must be restarted.";
