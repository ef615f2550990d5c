import type { FakeRequest, Reply } from "./http.js";
import type { RoleCredentialStore } from "./role-credentials.js";
import type { IdentityState } from "./state.js";
import type { AuthorizeOutcome, FakeAccount, FakeIamRole } from "./types.js";

/** What every route may read and change; the test controls change the same objects. */
export interface RouteContext {
  url: string;
  identity: IdentityState;
  credentials: RoleCredentialStore;
  accounts: readonly FakeAccount[];
  /** Roles STS AssumeRole can enter. */
  iamRoles: readonly FakeIamRole[];
  settings: {
    autoApprove: boolean;
    authorizeOutcome: AuthorizeOutcome;
    pageSize: number;
    userName: string;
  };
}

export type Handler = (req: FakeRequest, ctx: RouteContext) => Reply;

/** Keyed by "METHOD /path". */
export type RouteTable = Readonly<Record<string, Handler>>;
