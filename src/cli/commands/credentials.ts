import { selectProfileName } from "../../aws-files/profiles.js";
import { CredentialSource } from "../../credentials/credential-source.js";
import type { OutputFormat } from "../../credentials/output-format.js";
import { formatCredentials } from "../../credentials/output-format.js";
import { finalRole, resolveProfile } from "../../credentials/resolve-profile.js";
import { createDeps } from "../../runtime/deps.js";
import type { GlobalOptions } from "../global-options.js";

export async function runCredentials(
  flags: { profile?: string; format?: OutputFormat },
  globals: GlobalOptions,
): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const profileName = selectProfileName({ flag: flags.profile, env: deps.env });
  const resolved = await resolveProfile(deps, profileName);
  const credentials = await new CredentialSource(deps).get(resolved);
  const { accountId, roleName } = finalRole(resolved);
  const text = formatCredentials(credentials, flags.format ?? "process", {
    profileName,
    accountId,
    roleName,
  });
  process.stdout.write(text + "\n");
}
