import type { SessionRef } from "../../auth/session-ref.js";
import { loadAwsConfig } from "../../aws-files/config-read.js";
import { resolveSsoEndpoints } from "../../aws-files/endpoints.js";
import { resolveSsoSession, selectProfileName } from "../../aws-files/profiles.js";
import { resolveProfile } from "../../credentials/resolve-profile.js";
import type { Deps } from "../../runtime/deps.js";
import { createDeps } from "../../runtime/deps.js";
import type { GlobalOptions } from "../global-options.js";
import { loginOnTerminal } from "../login-ui.js";

interface LoginFlags {
  profile?: string;
  ssoSession?: string;
  useDeviceCode?: boolean;
  browser?: boolean;
}

async function sessionFromFlags(
  deps: Deps,
  flags: LoginFlags,
): Promise<{ session: SessionRef; oidc: string | undefined }> {
  const profileName = selectProfileName({ flag: flags.profile, env: deps.env });
  if (flags.ssoSession === undefined) {
    const resolved = await resolveProfile(deps, profileName);
    return { session: resolved.session, oidc: resolved.endpoints.oidc };
  }
  const config = await loadAwsConfig(deps.paths.configFile);
  const s = resolveSsoSession(config, flags.ssoSession, deps.paths.configFile);
  return {
    session: {
      kind: "sso-session",
      sessionName: s.sessionName,
      startUrl: s.startUrl,
      ssoRegion: s.ssoRegion,
      scopes: s.scopes,
      configuredScopes: s.configuredScopes,
      profileName,
      namedBySession: true,
    },
    oidc: resolveSsoEndpoints({ env: deps.env, config, profileName }).oidc,
  };
}

export async function runLogin(flags: LoginFlags, globals: GlobalOptions): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const { session, oidc } = await sessionFromFlags(deps, flags);
  await loginOnTerminal(deps, session, {
    useDeviceCode: flags.useDeviceCode,
    openBrowser: flags.browser !== false,
    oidcEndpoint: oidc,
  });
  process.stdout.write(`Successfully logged into Start URL: ${session.startUrl}\n`);
}
