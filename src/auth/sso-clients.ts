import type { SSOOIDCClient } from "@aws-sdk/client-sso-oidc";
import type { SSOClient } from "@aws-sdk/client-sso";

export type { SsoEndpoints } from "../aws-files/endpoints.js";

// The SDK packages are loaded on first use: `sso-docker credentials` with a warm cache
// must not pay for them (it is called often, as a host credential_process).
export async function createOidcClient(region: string, endpoint: string | undefined): Promise<SSOOIDCClient> {
  const { SSOOIDCClient } = await import("@aws-sdk/client-sso-oidc");
  return new SSOOIDCClient({ region, ...(endpoint ? { endpoint } : {}) });
}

export async function createPortalClient(region: string, endpoint: string | undefined): Promise<SSOClient> {
  const { SSOClient } = await import("@aws-sdk/client-sso");
  return new SSOClient({ region, ...(endpoint ? { endpoint } : {}) });
}

/** The origin the browser is sent to for the PKCE authorize step. */
export function oidcOrigin(region: string, endpoint: string | undefined): string {
  return new URL(endpoint ?? `https://oidc.${region}.amazonaws.com`).origin;
}

export function portalOrigin(region: string, endpoint: string | undefined): string {
  return new URL(endpoint ?? `https://portal.sso.${region}.amazonaws.com`).origin;
}
