import type { SessionRef } from "../../auth/session-ref.js";
import { getAccessToken } from "../../auth/access-token.js";
import { createPortalClient, portalOrigin } from "../../auth/sso-clients.js";
import { toServiceError } from "../../auth/service-errors.js";
import { loadAwsConfig } from "../../aws-files/config-read.js";
import { updateAwsConfig } from "../../aws-files/config-write.js";
import { resolveSsoEndpoints } from "../../aws-files/endpoints.js";
import { SECTION_NAME } from "../../aws-files/ini-syntax.js";
import { parseRegistrationScopes, resolveSsoSession } from "../../aws-files/profiles.js";
import { listAllAccounts, listAllRoles } from "../../credentials/portal.js";
import { createDeps } from "../../runtime/deps.js";
import { ConfigError, ProfileError, SessionExpiredError, SsoDockerError } from "../../runtime/errors.js";
import type { GlobalOptions } from "../global-options.js";
import { loginOnTerminal } from "../login-ui.js";
import { createPrompter } from "../prompter.js";

interface ConfigureFlags {
  profile?: string;
  ssoSession?: string;
  startUrl?: string;
  ssoRegion?: string;
  scopes?: string;
  accountId?: string;
  roleName?: string;
  region?: string;
  output?: string;
  useDeviceCode?: boolean;
  browser?: boolean;
}

const required = (what: string) => (value: string) =>
  value.trim() === "" ? `${what} is required` : undefined;
const validName = (what: string) => (value: string) =>
  value.trim() === ""
    ? `${what} is required`
    : SECTION_NAME.test(value)
      ? undefined
      : `${what} may only use letters, digits and - _ @ + . % : /`;
const validUrl = (value: string) =>
  /^https?:\/\/\S+$/.test(value.trim()) ? undefined : "enter a URL such as https://my-org.awsapps.com/start";

/** `aws configure sso`: session, sign-in, account and role choice, then the two sections. */
export async function runConfigure(flags: ConfigureFlags, globals: GlobalOptions): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const ask = await createPrompter(process.stdin.isTTY && process.stderr.isTTY);
  const file = deps.paths.configFile;
  const config = await loadAwsConfig(file);

  const profileProblem = flags.profile === undefined ? undefined : validName("A profile name")(flags.profile);
  if (profileProblem !== undefined) {
    throw new ConfigError(`--profile ${JSON.stringify(flags.profile)}: ${profileProblem}.`, {
      hint: "pass a valid --profile",
    });
  }
  const sessionName = await ask.text({
    message: "SSO session name:",
    flag: "sso-session",
    initial: flags.ssoSession,
    validate: validName("A session name"),
  });
  const existing = config.ssoSessions[sessionName] ? resolveSsoSession(config, sessionName, file) : undefined;
  const startUrl = await ask.text({
    message: "SSO start URL:",
    flag: "start-url",
    initial: flags.startUrl ?? existing?.startUrl,
    validate: validUrl,
  });
  const ssoRegion = await ask.text({
    message: "SSO region:",
    flag: "sso-region",
    initial: flags.ssoRegion ?? existing?.ssoRegion,
    validate: required("The SSO region"),
  });
  const scopesText = flags.scopes ?? existing?.configuredScopes?.join(",") ?? "sso:account:access";
  const scopes = parseRegistrationScopes(scopesText);

  const session: SessionRef = {
    kind: "sso-session",
    sessionName,
    startUrl,
    ssoRegion,
    scopes,
    configuredScopes: scopes,
    profileName: flags.profile ?? sessionName,
    namedBySession: true,
  };
  const endpoints = resolveSsoEndpoints({ env: deps.env, config, profileName: flags.profile ?? "default" });

  let token;
  try {
    token = await getAccessToken(deps, session, endpoints.oidc);
  } catch (err) {
    if (!(err instanceof SessionExpiredError)) throw err;
    await loginOnTerminal(deps, session, {
      useDeviceCode: flags.useDeviceCode,
      openBrowser: flags.browser !== false,
      oidcEndpoint: endpoints.oidc,
    });
    token = await getAccessToken(deps, session, endpoints.oidc);
  }

  const portal = await createPortalClient(ssoRegion, endpoints.portal);
  const context = {
    operation: "ListAccounts",
    profileName: session.profileName,
    endpoint: portalOrigin(ssoRegion, endpoints.portal),
  };
  let accountId: string;
  let roleName: string;
  try {
    const accounts = await listAllAccounts(portal, token.accessToken);
    if (accounts.length === 0)
      throw new ProfileError(`No AWS accounts are assigned to you in ${startUrl}.`, {
        hint: "ask your administrator for an account assignment",
      });
    if (flags.accountId && !accounts.some((a) => a.accountId === flags.accountId)) {
      throw new ProfileError(
        `Account ${flags.accountId} is not available to you in ${startUrl}. Available: ${accounts.map((a) => a.accountId).join(", ")}.`,
        {
          hint: "sso-docker configure --account-id <one of those>",
        },
      );
    }
    process.stderr.write(
      accounts.length === 1
        ? `The only AWS account available to you is: ${accounts[0]?.accountId ?? ""}\n`
        : `There are ${accounts.length} AWS accounts available to you.\n`,
    );
    accountId =
      flags.accountId ??
      (await ask.select({
        message: "Account:",
        flag: "account-id",
        choices: accounts.map((a) => ({
          value: a.accountId,
          label: `${a.accountName || a.accountId}, ${a.emailAddress} (${a.accountId})`,
        })),
      }));
    context.operation = "ListAccountRoles";
    const roles = await listAllRoles(portal, token.accessToken, accountId);
    if (flags.roleName && !roles.includes(flags.roleName)) {
      throw new ProfileError(
        `Role ${flags.roleName} is not available to you in account ${accountId}. Available: ${roles.join(", ") || "none"}.`,
        {
          hint: "sso-docker configure --role-name <one of those>",
        },
      );
    }
    process.stderr.write(
      roles.length === 1
        ? `Using the role name "${roles[0] ?? ""}"\n`
        : `There are ${roles.length} roles available to you.\n`,
    );
    roleName =
      flags.roleName ??
      (await ask.select({
        message: "Role:",
        flag: "role-name",
        choices: roles.map((r) => ({ value: r, label: r })),
      }));
  } catch (err) {
    // Our own errors (an unknown account, a question with no terminal) pass through as they are.
    if (err instanceof SsoDockerError) throw err;
    throw toServiceError(err, context);
  } finally {
    portal.destroy();
  }

  const region =
    flags.region ??
    (ask.interactive
      ? await ask.text({ message: "Default client region:", flag: "region", initial: ssoRegion })
      : undefined);
  const output =
    flags.output ??
    (ask.interactive
      ? await ask.text({ message: "CLI default output format:", flag: "output", initial: "json" })
      : undefined);
  const profileName =
    flags.profile ??
    (await ask.text({
      message: "Profile name:",
      flag: "profile",
      initial: `${roleName}-${accountId}`,
      validate: validName("A profile name"),
    }));

  // Both sections in one write, at the end: a failed or cancelled configure leaves the file as
  // it was (the sign-in is cached, so running it again does not ask to sign in again).
  await updateAwsConfig(file, [
    {
      type: "sso-session",
      name: sessionName,
      values: { sso_start_url: startUrl, sso_region: ssoRegion, sso_registration_scopes: scopes.join(",") },
    },
    {
      type: "profile",
      name: profileName,
      values: {
        sso_session: sessionName,
        sso_account_id: accountId,
        sso_role_name: roleName,
        region: region || undefined,
        output: output || undefined,
      },
    },
  ]);
  process.stdout.write(
    `\nWrote profile "${profileName}" and [sso-session ${sessionName}] to ${file}.\n` +
      `To use this profile, specify the profile name using --profile, as shown:\n\n` +
      `  aws s3 ls --profile ${profileName}\n  sso-docker credentials --profile ${profileName}\n  sso-docker run --profile ${profileName} IMAGE aws sts get-caller-identity\n`,
  );
}
