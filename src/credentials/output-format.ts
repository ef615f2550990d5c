import { isoSeconds } from "../runtime/time-format.js";
import type { RoleCredentials } from "./role-credentials.js";

export const OUTPUT_FORMATS = ["process", "env", "env-no-export", "json"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The credential_process contract: Version 1 with Expiration, so callers refresh on time. */
export function toProcessJson(credentials: RoleCredentials): Record<string, string | number> {
  return {
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    SessionToken: credentials.sessionToken,
    Expiration: isoSeconds(credentials.expiration),
  };
}

/** Renders like `aws configure export-credentials --format …`. */
export function formatCredentials(
  credentials: RoleCredentials,
  format: OutputFormat,
  context: { profileName: string; accountId: string; roleName: string },
): string {
  const expiration = isoSeconds(credentials.expiration);
  switch (format) {
    case "process":
      return JSON.stringify(toProcessJson(credentials), null, 2);
    case "json":
      return JSON.stringify(
        {
          ...toProcessJson(credentials),
          Profile: context.profileName,
          AccountId: context.accountId,
          RoleName: context.roleName,
        },
        null,
        2,
      );
    case "env":
    case "env-no-export": {
      const prefix = format === "env" ? "export " : "";
      return [
        `${prefix}AWS_ACCESS_KEY_ID=${credentials.accessKeyId}`,
        `${prefix}AWS_SECRET_ACCESS_KEY=${credentials.secretAccessKey}`,
        `${prefix}AWS_SESSION_TOKEN=${credentials.sessionToken}`,
        `${prefix}AWS_CREDENTIAL_EXPIRATION=${expiration}`,
      ].join("\n");
    }
  }
}
