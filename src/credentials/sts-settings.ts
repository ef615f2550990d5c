import type { AwsConfig } from "../aws-files/config-read.js";
import { lookupSection } from "../aws-files/config-read.js";
import { resolveStsEndpoint } from "../aws-files/endpoints.js";
import type { Env } from "../runtime/env.js";

/** Where AssumeRole goes, and the region it is signed for. */
export interface StsSettings {
  region: string;
  /** A configured endpoint (AWS_ENDPOINT_URL_STS, …); undefined: STS's regional endpoint. */
  endpoint?: string;
}

/** Without any region the AWS CLI signs AssumeRole for us-east-1 (seen: its STS client), and so do the JS SDK's role assumers. */
const FALLBACK_REGION = "us-east-1";

/**
 * As the AWS CLI v2 sets up the STS client of every step of a chain: the region and the
 * endpoint settings of the profile the user named (not of each step's profile), AWS_REGION and
 * AWS_DEFAULT_REGION first. The CLI v2 always uses the regional endpoint: it has no
 * `sts_regional_endpoints` setting, so that key is ignored here too.
 */
export function resolveStsSettings(options: {
  env: Env;
  config: AwsConfig;
  profileName: string;
  configFile: string;
}): StsSettings {
  const { env, config, profileName } = options;
  const region =
    env["AWS_REGION"] ||
    env["AWS_DEFAULT_REGION"] ||
    lookupSection(config.profiles, profileName)?.["region"] ||
    FALLBACK_REGION;
  const endpoint = resolveStsEndpoint(options);
  return { region, ...(endpoint === undefined ? {} : { endpoint }) };
}

export function stsOrigin(sts: StsSettings): string {
  return new URL(sts.endpoint ?? `https://sts.${sts.region}.amazonaws.com`).origin;
}
