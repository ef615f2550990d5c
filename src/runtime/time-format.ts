/**
 * The one form sso-docker writes a time in wherever the AWS CLI or an SDK reads it (the SSO
 * token and registration caches, the role-credential cache, credential_process `Expiration`,
 * `export-credentials` output) and in its own state and logs: RFC 3339 UTC in whole seconds,
 * `2026-01-02T03:04:05Z`, as botocore's `strftime('%Y-%m-%dT%H:%M:%SZ')` writes it.
 */
export function isoSeconds(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * The same instant as Python's `datetime.isoformat()` writes an aware UTC time,
 * `2026-01-02T03:04:05+00:00`: the AWS CLI's form in its AssumeRole cache entries.
 */
export function isoSecondsWithOffset(epochMs: number): string {
  return isoSeconds(epochMs).replace(/Z$/, "+00:00");
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$/i;

/**
 * Epoch ms of a timestamp, or undefined when it is not one. Accepts what the AWS CLI and SDKs
 * have written: `…Z`, with milliseconds (JS SDK), a `UTC` suffix (older botocore `%Z`), an
 * explicit offset; no zone means UTC.
 */
export function parseTimestamp(text: string): number | undefined {
  const match = TIMESTAMP.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction = "", zone = "Z"] = match;
  const ms = Number(fraction.padEnd(3, "0").slice(0, 3));
  let epoch = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
    ms,
  );
  if (/^[+-]/.test(zone)) {
    const digits = zone.replace(":", "");
    const offsetMinutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
    epoch -= (zone.startsWith("-") ? -1 : 1) * offsetMinutes * 60_000;
  }
  // Date.UTC rolls over out-of-range fields (month 13); a real timestamp round-trips.
  const check = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (check.getUTCMonth() !== Number(month) - 1 || check.getUTCDate() !== Number(day)) return undefined;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 60) return undefined;
  return epoch;
}
