import type { Handler, RouteContext, RouteTable } from "./context.js";
import { portalError } from "./errors.js";
import { header, jsonReply, requestId, type FakeRequest, type Reply } from "./http.js";
import type { SessionRecord } from "./state.js";

/** The SSO portal (rest-json, bearer token in `x-amz-sso_bearer_token`): accounts, roles, credentials, logout. */

const MAX_PAGE = 100;

function sessionOf(req: FakeRequest, ctx: RouteContext): SessionRecord | undefined {
  const token = header(req, "x-amz-sso_bearer_token");
  return token ? ctx.identity.sessionFor(token) : undefined;
}

/** A page of `items`, or an InvalidRequest reply for a bad `max_result` / `next_token`. */
function paginate<T>(
  req: FakeRequest,
  ctx: RouteContext,
  items: readonly T[],
): Reply | { page: T[]; next?: string } {
  const maxParam = req.query.get("max_result");
  const size = maxParam === null ? ctx.settings.pageSize : Number(maxParam);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) {
    return portalError("InvalidRequestException", `max_result must be between 1 and ${MAX_PAGE}.`);
  }
  const tokenParam = req.query.get("next_token");
  let start = 0;
  if (tokenParam !== null) {
    const match = /^page-(\d+)$/.exec(Buffer.from(tokenParam, "base64url").toString("utf8"));
    start = match ? Number(match[1]) : NaN;
    if (!Number.isInteger(start) || start <= 0 || start >= items.length) {
      return portalError("InvalidRequestException", "Invalid next_token.");
    }
  }
  const end = start + size;
  const page = items.slice(start, end);
  return end < items.length ? { page, next: Buffer.from(`page-${end}`).toString("base64url") } : { page };
}

const listAccounts: Handler = (req, ctx) => {
  if (!sessionOf(req, ctx)) return portalError("UnauthorizedException");
  const result = paginate(req, ctx, ctx.accounts);
  if ("status" in result) return result;
  return jsonReply(200, {
    accountList: result.page.map(({ accountId, accountName, emailAddress }) => ({
      accountId,
      accountName,
      emailAddress,
    })),
    ...(result.next === undefined ? {} : { nextToken: result.next }),
  });
};

const listAccountRoles: Handler = (req, ctx) => {
  if (!sessionOf(req, ctx)) return portalError("UnauthorizedException");
  const accountId = req.query.get("account_id");
  if (!accountId) return portalError("InvalidRequestException", "account_id is required.");
  const account = ctx.accounts.find((a) => a.accountId === accountId);
  if (!account) return portalError("ResourceNotFoundException", "Account not found.");
  const result = paginate(req, ctx, account.roles);
  if ("status" in result) return result;
  return jsonReply(200, {
    roleList: result.page.map((roleName) => ({ roleName, accountId })),
    ...(result.next === undefined ? {} : { nextToken: result.next }),
  });
};

const getRoleCredentials: Handler = (req, ctx) => {
  if (!sessionOf(req, ctx)) return portalError("UnauthorizedException");
  const roleName = req.query.get("role_name");
  const accountId = req.query.get("account_id");
  if (!roleName || !accountId)
    return portalError("InvalidRequestException", "role_name and account_id are required.");
  const account = ctx.accounts.find((a) => a.accountId === accountId);
  if (!account?.roles.includes(roleName)) return portalError("ForbiddenException");
  const issued = ctx.credentials.issue(accountId, roleName, ctx.settings.userName);
  return jsonReply(200, {
    roleCredentials: {
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      sessionToken: issued.sessionToken,
      expiration: issued.expiration,
    },
  });
};

const logout: Handler = (req, ctx) => {
  const session = sessionOf(req, ctx);
  if (!session) return portalError("UnauthorizedException");
  ctx.identity.revokeSession(session.id);
  return { status: 200, headers: { "x-amzn-RequestId": requestId() }, body: "" };
};

export const portalRoutes: RouteTable = {
  "GET /assignment/accounts": listAccounts,
  "GET /assignment/roles": listAccountRoles,
  "GET /federation/credentials": getRoleCredentials,
  "POST /logout": logout,
};
