import type { RequestFilter, RequestLogEntry } from "./types.js";

/** Query parameters that carry codes or signing material; the log keeps their names only. */
const SECRET_PARAMS = new Set([
  "code",
  "code_challenge",
  "code_verifier",
  "state",
  "user_code",
  "access_token",
  "refresh_token",
  "x-amz-security-token",
  "x-amz-signature",
  "x-amz-credential",
]);

export function redactQuery(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of query) out[key] = SECRET_PARAMS.has(key.toLowerCase()) ? "***" : value;
  return out;
}

export class RequestLog {
  readonly entries: RequestLogEntry[] = [];

  constructor(private readonly onRequest?: (entry: RequestLogEntry) => void) {}

  add(entry: RequestLogEntry): void {
    this.entries.push(entry);
    this.onRequest?.(entry);
  }

  count(path: string, where: RequestFilter = {}): number {
    return this.entries.filter(
      (e) =>
        e.path === path &&
        (where.method === undefined || e.method === where.method) &&
        (where.status === undefined || e.status === where.status) &&
        (where.errorType === undefined || e.errorType === where.errorType) &&
        (where.operation === undefined || e.operation === where.operation) &&
        (where.roleArn === undefined || e.roleArn === where.roleArn),
    ).length;
  }

  clear(): void {
    this.entries.length = 0;
  }
}
