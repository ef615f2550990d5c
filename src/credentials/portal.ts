import type { SSOClient } from "@aws-sdk/client-sso";
import type { RoleCredentials } from "./role-credentials.js";

export interface AccountInfo {
  accountId: string;
  accountName: string;
  emailAddress: string;
}

/** ListAccounts, every page. */
export async function listAllAccounts(client: SSOClient, accessToken: string): Promise<AccountInfo[]> {
  const { paginateListAccounts } = await import("@aws-sdk/client-sso");
  const accounts: AccountInfo[] = [];
  for await (const page of paginateListAccounts({ client }, { accessToken })) {
    for (const a of page.accountList ?? []) {
      if (a.accountId) {
        accounts.push({
          accountId: a.accountId,
          accountName: a.accountName ?? "",
          emailAddress: a.emailAddress ?? "",
        });
      }
    }
  }
  return accounts;
}

/** ListAccountRoles for one account, every page. */
export async function listAllRoles(
  client: SSOClient,
  accessToken: string,
  accountId: string,
): Promise<string[]> {
  const { paginateListAccountRoles } = await import("@aws-sdk/client-sso");
  const roles: string[] = [];
  for await (const page of paginateListAccountRoles({ client }, { accessToken, accountId })) {
    for (const r of page.roleList ?? []) if (r.roleName) roles.push(r.roleName);
  }
  return roles;
}

/** GetRoleCredentials; the portal gives expiration in epoch milliseconds. */
export async function getRoleCredentials(
  client: SSOClient,
  input: { accessToken: string; accountId: string; roleName: string },
): Promise<RoleCredentials> {
  const { GetRoleCredentialsCommand } = await import("@aws-sdk/client-sso");
  const out = await client.send(new GetRoleCredentialsCommand(input));
  const c = out.roleCredentials;
  if (!c?.accessKeyId || !c.secretAccessKey || !c.sessionToken || c.expiration === undefined) {
    throw new Error("GetRoleCredentials returned incomplete credentials");
  }
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expiration: c.expiration,
  };
}
