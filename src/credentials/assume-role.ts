import type { AssumeRoleStep } from "../aws-files/role-chain.js";
import type { AssumedRoleCredentials } from "./assume-role-cache.js";
import type { RoleCredentials } from "./role-credentials.js";
import type { StsSettings } from "./sts-settings.js";

/**
 * One STS AssumeRole signed with `source`. The STS client is loaded on first use, like the SSO
 * clients: `sso-docker credentials` served from a cache must not pay for it.
 */
export async function assumeRole(input: {
  source: RoleCredentials;
  step: AssumeRoleStep;
  sts: StsSettings;
  /** The step's role_session_name, or one generated for this call. */
  sessionName: string;
}): Promise<AssumedRoleCredentials> {
  const { source, step, sts, sessionName } = input;
  const { STSClient, AssumeRoleCommand } = await import("@aws-sdk/client-sts");
  const client = new STSClient({
    region: sts.region,
    ...(sts.endpoint === undefined ? {} : { endpoint: sts.endpoint }),
    credentials: {
      accessKeyId: source.accessKeyId,
      secretAccessKey: source.secretAccessKey,
      sessionToken: source.sessionToken,
    },
  });
  try {
    const out = await client.send(
      new AssumeRoleCommand({
        RoleArn: step.roleArn,
        RoleSessionName: sessionName,
        ...(step.externalId === undefined ? {} : { ExternalId: step.externalId }),
        ...(step.durationSeconds === undefined ? {} : { DurationSeconds: step.durationSeconds }),
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new Error("AssumeRole returned incomplete credentials");
    }
    const user = out.AssumedRoleUser;
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration.getTime(),
      ...(user?.Arn === undefined ? {} : { assumedRoleArn: user.Arn }),
      ...(user?.AssumedRoleId === undefined ? {} : { assumedRoleId: user.AssumedRoleId }),
    };
  } finally {
    client.destroy();
  }
}
