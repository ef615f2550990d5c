import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { systemClock } from "../runtime/clock.js";
import { browserRoutes } from "./browser-routes.js";
import type { RouteContext, RouteTable } from "./context.js";
import { FailureQueue } from "./failures.js";
import { HoldQueue, type RequestHold } from "./holds.js";
import { jsonReply, readRequest, type FakeRequest, type Reply } from "./http.js";
import { oidcRoutes } from "./oidc-routes.js";
import { portalRoutes } from "./portal-routes.js";
import { RequestLog, redactQuery } from "./request-log.js";
import { RoleCredentialStore } from "./role-credentials.js";
import { IdentityState } from "./state.js";
import { stsRoutes } from "./sts-routes.js";
import {
  DEFAULT_ACCOUNTS,
  DEFAULT_IAM_ROLES,
  DEFAULT_LIFETIMES,
  type AuthorizeOutcome,
  type DeviceAuthorizationEvent,
  type FailureSpec,
  type FakeAccount,
  type FakeIamRole,
  type FakeIdcOptions,
  type IssuedCredential,
  type Lifetimes,
  type RequestFilter,
  type RequestLogEntry,
  type SeededSession,
} from "./types.js";

export interface FakeIdc extends AsyncDisposable {
  /** One origin for SSO OIDC, the SSO portal and STS, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** A start URL served by the fake (any start URL is accepted). */
  readonly startUrl: string;
  /** The accounts and role assignments as they are now (see `unassignRole`). */
  readonly accounts: readonly FakeAccount[];
  /**
   * An administrator removes the user's assignment to the role: GetRoleCredentials answers 403
   * ForbiddenException "No access" and ListAccountRoles no longer lists it. Credentials issued
   * before stay valid until they expire, as with the real service.
   */
  unassignRole(accountId: string, roleName: string): void;
  /** Gives the assignment (back). */
  assignRole(accountId: string, roleName: string): void;
  /** Roles STS AssumeRole can enter. */
  readonly iamRoles: readonly FakeIamRole[];
  /** AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL_SSO and AWS_ENDPOINT_URL_STS, all pointing at `url`. */
  endpointEnv(): Record<string, string>;

  /** Approve or deny a pending device code as the user would; throws for an unknown or expired code. */
  approveDevice(userCode: string): void;
  denyDevice(userCode: string): void;
  /** Resolves with each StartDeviceAuthorization once, oldest first, waiting for the next if none is queued. */
  nextDeviceAuthorization(): Promise<DeviceAuthorizationEvent>;
  setAuthorizeOutcome(outcome: AuthorizeOutcome): void;
  setAutoApprove(on: boolean): void;

  readonly lifetimes: Readonly<Lifetimes>;
  /** Applies to tokens, codes and credentials issued afterwards. */
  setLifetimes(lifetimes: Partial<Lifetimes>): void;
  failNext(failure: FailureSpec): void;
  /**
   * Keeps the next request to `path` unanswered until `release()`, as a service slow to answer
   * (GetRoleCredentials: "/federation/credentials").
   */
  holdNext(path: string): RequestHold;
  /** Access tokens stop working; refresh tokens still do. */
  expireAccessTokens(): void;
  /** Every session ends (access and refresh tokens); only a new login helps. */
  revokeAllSessions(): void;
  /** Every issued role credential (GetRoleCredentials and AssumeRole) is expired from now on. */
  expireRoleCredentials(): void;
  /** A logged-in session without the browser dance, for seeding token caches. */
  createSession(options?: { scopes?: string[] }): SeededSession;

  readonly requests: readonly RequestLogEntry[];
  count(path: string, where?: RequestFilter): number;
  clearRequests(): void;
  issuedCredentials(): IssuedCredential[];

  close(): Promise<void>;
}

function originFor(host: string, port: number): string {
  const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;
}

const ROUTES: RouteTable = { ...oidcRoutes, ...browserRoutes, ...portalRoutes, ...stsRoutes };

function notFound(req: FakeRequest): Reply {
  return {
    ...jsonReply(
      404,
      { message: `No route for ${req.method} ${req.path}` },
      { "x-amzn-ErrorType": "UnknownOperationException" },
    ),
    errorType: "UnknownOperationException",
  };
}

export async function startFakeIdc(options: FakeIdcOptions = {}): Promise<FakeIdc> {
  const clock = options.clock ?? systemClock;
  const lifetimes: Lifetimes = { ...DEFAULT_LIFETIMES, ...options.lifetimes };
  const identity = new IdentityState(clock, lifetimes);
  const credentials = new RoleCredentialStore(clock, lifetimes);
  const log = new RequestLog(options.onRequest);
  const failures = new FailureQueue();
  const holds = new HoldQueue();
  const accounts = options.accounts ?? DEFAULT_ACCOUNTS;
  const iamRoles = options.iamRoles ?? DEFAULT_IAM_ROLES;
  const ctx: RouteContext = {
    url: "",
    identity,
    credentials,
    accounts,
    iamRoles,
    settings: {
      autoApprove: options.autoApprove ?? false,
      authorizeOutcome: options.authorizeOutcome ?? "approve",
      pageSize: options.pageSize ?? 20,
      userName: options.userName ?? "developer",
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    let request: FakeRequest | undefined;
    try {
      request = await readRequest(req);
      await holds.wait(request);
      const route = ROUTES[`${request.method} ${request.path}`];
      reply = failures.take(request) ?? (route ? route(request, ctx) : notFound(request));
    } catch {
      reply = jsonReply(
        500,
        { message: "Internal error in the fake" },
        { "x-amzn-ErrorType": "InternalServerException" },
      );
    }
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body ?? "");
    const entry: RequestLogEntry = {
      method: req.method ?? "GET",
      path: request?.path ?? "",
      query: request ? redactQuery(request.query) : {},
      status: reply.status,
      at: clock.now(),
    };
    if (reply.errorType !== undefined) entry.errorType = reply.errorType;
    if (reply.operation !== undefined) entry.operation = reply.operation;
    if (reply.roleArn !== undefined) entry.roleArn = reply.roleArn;
    if (reply.signingRegion !== undefined) entry.signingRegion = reply.signingRegion;
    log.add(entry);
  }

  const server = createServer((req, res) => void handle(req, res));
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const url = originFor(host, (server.address() as AddressInfo).port);
  ctx.url = url;

  const setRole = (accountId: string, roleName: string, assigned: boolean) => {
    if (!ctx.accounts.some((a) => a.accountId === accountId)) throw new Error(`No account ${accountId}.`);
    ctx.accounts = ctx.accounts.map((a) =>
      a.accountId !== accountId
        ? a
        : { ...a, roles: [...a.roles.filter((r) => r !== roleName), ...(assigned ? [roleName] : [])] },
    );
  };
  const decide = (userCode: string, approve: boolean) => {
    const result = identity.decideDevice(userCode, approve);
    if (result === "unknown" || result === "expired") throw new Error(`Device user code is ${result}.`);
  };
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
    return closed;
  };

  return {
    url,
    startUrl: `${url}/start`,
    get accounts() {
      return ctx.accounts;
    },
    unassignRole: (accountId, roleName) => {
      setRole(accountId, roleName, false);
    },
    assignRole: (accountId, roleName) => {
      setRole(accountId, roleName, true);
    },
    iamRoles,
    endpointEnv: () => ({
      AWS_ENDPOINT_URL_SSO_OIDC: url,
      AWS_ENDPOINT_URL_SSO: url,
      AWS_ENDPOINT_URL_STS: url,
    }),
    approveDevice: (userCode) => {
      decide(userCode, true);
    },
    denyDevice: (userCode) => {
      decide(userCode, false);
    },
    nextDeviceAuthorization: () => identity.nextDeviceAuthorization(),
    setAuthorizeOutcome: (outcome) => {
      ctx.settings.authorizeOutcome = outcome;
    },
    setAutoApprove: (on) => {
      ctx.settings.autoApprove = on;
    },
    lifetimes,
    setLifetimes: (changes) => {
      Object.assign(lifetimes, changes);
    },
    failNext: (failure) => {
      failures.add(failure);
    },
    holdNext: (path) => holds.add(path),
    expireAccessTokens: () => {
      identity.expireAccessTokens();
    },
    revokeAllSessions: () => {
      identity.revokeAllSessions();
    },
    expireRoleCredentials: () => {
      credentials.expireAll();
    },
    createSession: ({ scopes = ["sso:account:access"] } = {}) => {
      const client = identity.registerClient({
        clientName: "seeded",
        scopes,
        grantTypes: [],
        redirectUris: [],
      });
      const tokens = identity.issueSession(client, scopes);
      const seeded: SeededSession = {
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        registrationExpiresAt: client.expiresAt,
        accessToken: tokens.accessToken,
        expiresAt: clock.now() + tokens.expiresIn * 1000,
      };
      if (tokens.refreshToken !== undefined) seeded.refreshToken = tokens.refreshToken;
      return seeded;
    },
    requests: log.entries,
    count: (path, where) => log.count(path, where),
    clearRequests: () => {
      log.clear();
    },
    issuedCredentials: () => credentials.list(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
