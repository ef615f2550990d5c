import { loadAwsConfig } from "../aws-files/config-read.js";
import { resolveSsoEndpoints } from "../aws-files/endpoints.js";
import { selectProfileName } from "../aws-files/profiles.js";
import { deleteCliCredentialCache, deleteSsoTokens } from "../aws-files/cache-sweep.js";
import type { Deps } from "../runtime/deps.js";
import { SsoDockerError } from "../runtime/errors.js";
import { createPortalClient } from "./sso-clients.js";

export interface LogoutResult {
  tokens: number;
  cachedCredentials: number;
}

/**
 * What `aws sso logout` does: the Logout API for every cached token (best effort — a token
 * the service already forgot is still deleted), then the token files and the AWS CLI's
 * SSO role-credential cache. Client registrations are kept.
 */
export async function logout(deps: Deps): Promise<LogoutResult> {
  let portal: string | undefined;
  try {
    const config = await loadAwsConfig(deps.paths.configFile);
    portal = resolveSsoEndpoints({
      env: deps.env,
      config,
      profileName: selectProfileName({ env: deps.env }),
    }).portal;
  } catch (err) {
    // A broken config must not stop a sign-out; env overrides still apply.
    if (!(err instanceof SsoDockerError)) throw err;
    portal = deps.env["AWS_ENDPOINT_URL_SSO"] ?? deps.env["AWS_ENDPOINT_URL"];
  }
  const { LogoutCommand } = await import("@aws-sdk/client-sso");
  const tokens = await deleteSsoTokens(deps.paths.ssoCacheDir, {
    beforeDelete: async (file) => {
      const client = await createPortalClient(file.region ?? "us-east-1", portal);
      try {
        await client.send(new LogoutCommand({ accessToken: file.accessToken }));
      } catch (err) {
        deps.logger.debug(`Logout API call for ${file.startUrl ?? file.path} failed: ${(err as Error).name}`);
      } finally {
        client.destroy();
      }
    },
  });
  const cached = await deleteCliCredentialCache(deps.paths.cliCacheDir);
  return { tokens: tokens.length, cachedCredentials: cached.length };
}
