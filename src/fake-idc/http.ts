import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** A request as the routes see it: the raw path and query (SigV4 signs them as sent) and the whole body. */
export interface FakeRequest {
  method: string;
  /** The path as sent on the wire, still percent-encoded, without the query. */
  path: string;
  /** Everything after `?`, as sent; "" when absent. */
  rawQuery: string;
  query: URLSearchParams;
  /** Header name (lower case) → every value it was sent with, in order. */
  headers: ReadonlyMap<string, readonly string[]>;
  body: Buffer;
}

/** What a route answers; the server writes it and records `errorType`/`operation` in the request log. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  errorType?: string;
  operation?: string;
  /** AssumeRole's RoleArn (not a secret), so tests can count calls per role. */
  roleArn?: string;
  /** The region of a SigV4 request's credential scope. */
  signingRegion?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function readRequest(req: IncomingMessage): Promise<FakeRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(chunk);
  }
  const target = req.url ?? "/";
  const q = target.indexOf("?");
  const rawQuery = q === -1 ? "" : target.slice(q + 1);
  const headers = new Map<string, string[]>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? "").toLowerCase();
    const values = headers.get(name) ?? [];
    values.push(req.rawHeaders[i + 1] ?? "");
    headers.set(name, values);
  }
  return {
    method: req.method ?? "GET",
    path: q === -1 ? target : target.slice(0, q),
    rawQuery,
    query: new URLSearchParams(rawQuery),
    headers,
    body: Buffer.concat(chunks),
  };
}

/** The first value of a header, or undefined. */
export function header(req: FakeRequest, name: string): string | undefined {
  return req.headers.get(name.toLowerCase())?.[0];
}

export function requestId(): string {
  return randomUUID();
}

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { "content-type": "application/json", "x-amzn-RequestId": requestId(), ...headers },
    body: JSON.stringify(body),
  };
}

export function htmlReply(status: number, body: string): Reply {
  return {
    status,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
    body,
  };
}

export function redirectReply(location: string): Reply {
  return { status: 302, headers: { location, "cache-control": "no-store" }, body: "" };
}

/** Parses a JSON object body; undefined when it is not one (the caller answers InvalidRequest). */
export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function stringField(obj: Record<string, unknown>, key: string): string | undefined {
  const value = obj[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function stringListField(obj: Record<string, unknown>, key: string): string[] {
  const value = obj[key];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
