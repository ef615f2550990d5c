export { startFakeIdc, type FakeIdc } from "./server.js";
export type { RequestHold } from "./holds.js";
export {
  DEFAULT_ACCOUNTS,
  DEFAULT_IAM_ROLES,
  DEFAULT_LIFETIMES,
  iamRoleArn,
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
