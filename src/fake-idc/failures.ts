import { oidcErrorReply, portalErrorReply, stsErrorReply } from "./errors.js";
import { header, type FakeRequest, type Reply } from "./http.js";
import type { FailureSpec } from "./types.js";

/** Injected failures, answered in the error format of whichever service owns the path. */

const OIDC_PATHS = new Set(["/client/register", "/device_authorization", "/token"]);

function defaultErrorType(status: number, sts: boolean): string {
  if (status === 429) return sts ? "Throttling" : "TooManyRequestsException";
  if (status >= 500) return sts ? "InternalFailure" : "InternalServerException";
  if (status === 401) return sts ? "InvalidClientTokenId" : "UnauthorizedException";
  return sts ? "InvalidParameterValue" : "InvalidRequestException";
}

function failureReply(req: FakeRequest, spec: FailureSpec): Reply {
  const sts = req.path === "/";
  const errorType = spec.errorType ?? defaultErrorType(spec.status, sts);
  const message = spec.message ?? `Injected failure (${spec.status} ${errorType}).`;
  if (sts) return stsErrorReply(spec.status, errorType, message, header(req, "x-amz-target") !== undefined);
  if (OIDC_PATHS.has(req.path)) return oidcErrorReply(spec.status, errorType, message);
  return portalErrorReply(spec.status, errorType, message);
}

export class FailureQueue {
  private readonly pending: { spec: FailureSpec; left: number }[] = [];

  add(spec: FailureSpec): void {
    this.pending.push({ spec, left: spec.count ?? 1 });
  }

  /** The reply for the first armed failure matching this request, consuming one use of it. */
  take(req: FakeRequest): Reply | undefined {
    const index = this.pending.findIndex(
      ({ spec }) => spec.path === req.path && (spec.method === undefined || spec.method === req.method),
    );
    const entry = this.pending[index];
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.pending.splice(index, 1);
    return failureReply(req, entry.spec);
  }

  clear(): void {
    this.pending.length = 0;
  }
}
