import type { SSOOIDCClient } from "@aws-sdk/client-sso-oidc";
import type { Clock } from "../runtime/clock.js";
import { CancelledError, LoginError } from "../runtime/errors.js";
import type { ClientRegistration, TokenGrant } from "./token-grant.js";
import { EXPIRED_AUTHORIZATION_MESSAGE, toTokenGrant } from "./token-grant.js";

export interface DevicePrompt {
  verificationUri: string;
  verificationUriComplete: string;
  userCode: string;
  /** Epoch ms after which the code is no longer accepted. */
  expiresAt: number;
}

export interface DeviceFlowInput {
  client: SSOOIDCClient;
  registration: ClientRegistration;
  startUrl: string;
  clock: Clock;
  /** Called once, when the user has to act: show the code, open the browser. */
  onPrompt: (prompt: DevicePrompt) => void | Promise<void>;
  signal?: AbortSignal | undefined;
  /** Names the profile in error hints. */
  profileName: string;
}

const SLOW_DOWN_SECONDS = 5;
const DEFAULT_INTERVAL_SECONDS = 5;
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/**
 * The OAuth device authorization grant as the AWS CLI runs it: one token attempt before
 * prompting (the client may be pre-authorized), then poll at `interval`, +5 s on SlowDown.
 */
export async function runDeviceFlow(input: DeviceFlowInput): Promise<TokenGrant> {
  const { client, registration, clock, signal } = input;
  const { CreateTokenCommand, StartDeviceAuthorizationCommand } = await import("@aws-sdk/client-sso-oidc");
  const authorization = await client.send(
    new StartDeviceAuthorizationCommand({
      clientId: registration.clientId,
      clientSecret: registration.clientSecret,
      startUrl: input.startUrl,
    }),
    signal ? { abortSignal: signal } : {},
  );
  const { deviceCode, userCode, verificationUri, verificationUriComplete } = authorization;
  if (!deviceCode || !userCode || !verificationUri) {
    throw new LoginError("IAM Identity Center returned an incomplete device authorization.");
  }
  const expiresAt = clock.now() + (authorization.expiresIn ?? 600) * 1000;
  let interval = authorization.interval ?? DEFAULT_INTERVAL_SECONDS;
  const hint = `sso-docker login --profile ${input.profileName}`;

  const attempt = async (): Promise<TokenGrant | undefined> => {
    try {
      const issuedAt = clock.now();
      const token = await client.send(
        new CreateTokenCommand({
          grantType: DEVICE_GRANT,
          clientId: registration.clientId,
          clientSecret: registration.clientSecret,
          deviceCode,
        }),
        signal ? { abortSignal: signal } : {},
      );
      return toTokenGrant(token, issuedAt);
    } catch (err) {
      if (signal?.aborted) throw new CancelledError("Login cancelled.");
      switch ((err as { name?: string }).name) {
        case "AuthorizationPendingException":
          return undefined;
        case "SlowDownException":
          interval += SLOW_DOWN_SECONDS;
          return undefined;
        case "ExpiredTokenException":
          throw new LoginError(EXPIRED_AUTHORIZATION_MESSAGE, { hint, cause: err });
        case "AccessDeniedException":
          throw new LoginError(`The login for profile ${input.profileName} was denied in the browser.`, {
            hint,
            cause: err,
          });
        default:
          throw err;
      }
    }
  };

  const first = await attempt();
  if (first) return first;
  await input.onPrompt({
    verificationUri,
    verificationUriComplete: verificationUriComplete ?? verificationUri,
    userCode,
    expiresAt,
  });
  for (;;) {
    if (clock.now() >= expiresAt) throw new LoginError(EXPIRED_AUTHORIZATION_MESSAGE, { hint });
    try {
      await clock.sleep(interval * 1000, signal);
    } catch {
      throw new CancelledError("Login cancelled.");
    }
    const token = await attempt();
    if (token) return token;
  }
}
