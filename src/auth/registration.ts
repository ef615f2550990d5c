import type { SSOOIDCClient } from "@aws-sdk/client-sso-oidc";
import type { Deps } from "../runtime/deps.js";
import {
  readRegistration,
  registrationCachePath,
  writeRegistration,
} from "../aws-files/registration-cache.js";
import type { ClientRegistration } from "./token-grant.js";
import type { SessionRef } from "./session-ref.js";

export type GrantKind = "device" | "pkce";

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/** Re-register this close to the registration's expiry, as the AWS CLI does. */
const REREGISTER_WINDOW_MS = 15 * 60_000;

function suits(registration: ClientRegistration, kind: GrantKind): boolean {
  const grants = registration.grantTypes;
  if (kind === "pkce") return grants?.includes("authorization_code") ?? false;
  // Registrations from older AWS CLIs carry no grantTypes and are device-code registrations.
  return grants === undefined || grants.includes(DEVICE_GRANT);
}

/**
 * The OIDC client registration for this session, shared with the AWS CLI through its
 * registration cache; registers anew when missing, near expiry, or of the wrong grant kind.
 */
export async function ensureRegistration(
  deps: Deps,
  client: SSOOIDCClient,
  session: SessionRef,
  kind: GrantKind,
): Promise<ClientRegistration> {
  const scopes = session.kind === "sso-session" ? [...session.scopes] : undefined;
  const path = registrationCachePath(deps.paths.ssoCacheDir, {
    startUrl: session.startUrl,
    region: session.ssoRegion,
    sessionName: session.sessionName,
    scopes: session.configuredScopes,
  });
  const cached = await readRegistration(path);
  if (cached && cached.expiresAt - deps.clock.now() > REREGISTER_WINDOW_MS && suits(cached, kind))
    return cached;

  const { RegisterClientCommand } = await import("@aws-sdk/client-sso-oidc");
  const grantTypes =
    kind === "pkce"
      ? ["authorization_code", "refresh_token"]
      : session.kind === "sso-session"
        ? [DEVICE_GRANT, "refresh_token"]
        : undefined;
  const out = await client.send(
    new RegisterClientCommand({
      clientName: `sso-docker-${session.sessionName ?? String(Math.floor(deps.clock.now() / 1000))}`,
      clientType: "public",
      ...(scopes ? { scopes } : {}),
      ...(grantTypes ? { grantTypes } : {}),
      ...(kind === "pkce"
        ? { redirectUris: ["http://127.0.0.1/oauth/callback"], issuerUrl: session.startUrl }
        : {}),
    }),
  );
  if (!out.clientId || !out.clientSecret || out.clientSecretExpiresAt === undefined) {
    throw new Error("RegisterClient returned an incomplete registration");
  }
  const registration: ClientRegistration = {
    clientId: out.clientId,
    clientSecret: out.clientSecret,
    expiresAt: out.clientSecretExpiresAt * 1000,
    scopes,
    grantTypes,
  };
  await writeRegistration(path, registration);
  return registration;
}
