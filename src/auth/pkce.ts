import { createHash, randomBytes, randomUUID } from "node:crypto";

const VERIFIER_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/** A 64-character RFC 7636 code verifier, as the AWS CLI makes them. */
export function createCodeVerifier(): string {
  const bytes = randomBytes(64);
  let out = "";
  for (const byte of bytes) out += VERIFIER_ALPHABET.charAt(byte % VERIFIER_ALPHABET.length);
  return out;
}

/** S256 challenge: base64url(sha256(verifier)) without padding. */
export function codeChallengeFor(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

export interface AuthorizeUrlInput {
  oidcOrigin: string;
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
  scopes: readonly string[];
}

/** The browser URL of the authorization-code step, with parameters in the AWS CLI's order. */
export function buildAuthorizeUrl(input: AuthorizeUrlInput): string {
  const params = new URLSearchParams({
    response_type: "code",
    client_id: input.clientId,
    redirect_uri: input.redirectUri,
    state: input.state,
    code_challenge_method: "S256",
    scopes: input.scopes.join(" "),
    code_challenge: input.codeChallenge,
  });
  return `${input.oidcOrigin}/authorize?${params.toString()}`;
}

export function newState(): string {
  return randomUUID();
}
