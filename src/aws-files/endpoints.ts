import type { Env } from "../runtime/env.js";
import { ConfigError } from "../runtime/errors.js";
import type { AwsConfig, IniSection } from "./config-read.js";
import { lookupSection } from "./config-read.js";

/** Endpoint overrides for the two SSO services; undefined means the SDK's default AWS endpoint. */
export interface SsoEndpoints {
  /** SSO OIDC (`https://oidc.{region}.amazonaws.com` by default). */
  oidc?: string;
  /** SSO portal (`https://portal.sso.{region}.amazonaws.com` by default). */
  portal?: string;
}

/** The SDK's service ids, as `getEndpointUrlConfig` turns them into env and config names. */
const SERVICES = {
  oidc: { env: "AWS_ENDPOINT_URL_SSO_OIDC", config: "sso_oidc" },
  portal: { env: "AWS_ENDPOINT_URL_SSO", config: "sso" },
  sts: { env: "AWS_ENDPOINT_URL_STS", config: "sts" },
} as const;

/** "true"/"false" in any case, as botocore's ensure_boolean; anything else is "not set". */
function parseFlag(value: string | undefined): boolean | undefined {
  const lower = value?.toLowerCase();
  return lower === "true" ? true : lower === "false" ? false : undefined;
}

interface EndpointOptions {
  env: Env;
  config: AwsConfig;
  profileName: string;
  configFile?: string;
}

type Service = (typeof SERVICES)[keyof typeof SERVICES];

/**
 * The configured endpoint of one service, with the precedence of the AWS SDKs and the AWS CLI
 * ≥ 2.13: service env var, AWS_ENDPOINT_URL, the profile's `[services X]` sub-section, the
 * profile's `endpoint_url`; none when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS (or the profile's
 * `ignore_configured_endpoint_urls`) is true.
 */
function configuredEndpoint(options: EndpointOptions, service: Service): string | undefined {
  const { env, config, profileName } = options;
  const profile = lookupSection(config.profiles, profileName) ?? {};
  const ignore =
    parseFlag(env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]) ??
    parseFlag(profile["ignore_configured_endpoint_urls"]);
  if (ignore === true) return undefined;

  const servicesSection = (): IniSection | undefined => {
    const name = profile["services"];
    if (name === undefined) return undefined;
    const section = lookupSection(config.services, name);
    // The JS SDK silently falls back to real AWS here; a clear error is safer.
    if (!section) {
      const where = options.configFile === undefined ? "" : ` in ${options.configFile}`;
      throw new ConfigError(
        `Profile "${profileName}" uses services = ${name}, but there is no [services ${name}] section${where}.`,
        {
          hint: `Add [services ${name}] or remove "services" from the profile, then run: sso-docker login --profile ${profileName}`,
        },
      );
    }
    return section;
  };
  return (
    env[service.env] ||
    env["AWS_ENDPOINT_URL"] ||
    servicesSection()?.[`${service.config}.endpoint_url`] ||
    profile["endpoint_url"] ||
    undefined
  );
}

/** Configured endpoints for SSO OIDC and the SSO portal (see configuredEndpoint). */
export function resolveSsoEndpoints(options: EndpointOptions): SsoEndpoints {
  const oidc = configuredEndpoint(options, SERVICES.oidc);
  const portal = configuredEndpoint(options, SERVICES.portal);
  return { ...(oidc === undefined ? {} : { oidc }), ...(portal === undefined ? {} : { portal }) };
}

/** The configured STS endpoint (AWS_ENDPOINT_URL_STS, `sts =` in `[services X]`, …), if any. */
export function resolveStsEndpoint(options: EndpointOptions): string | undefined {
  return configuredEndpoint(options, SERVICES.sts);
}
