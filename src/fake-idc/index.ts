export { startFakeIdc, type FakeIdc } from "./server.js";
export {
  DEFAULT_ACCOUNTS,
  DEFAULT_LIFETIMES,
  type AuthorizeOutcome,
  type DeviceAuthorizationEvent,
  type FailureSpec,
  type FakeAccount,
  type FakeIdcOptions,
  type IssuedCredential,
  type Lifetimes,
  type RequestFilter,
  type RequestLogEntry,
  type SeededSession,
} from "./types.js";
