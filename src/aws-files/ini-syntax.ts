/**
 * Line-level INI rules of the AWS SDK for JavaScript v3 (`parseIni` in
 * `@smithy/shared-ini-file-loader`), shared by the reader and the editor so both see the
 * same sections and keys the SDKs inside containers will see.
 */

/** The SDK's section prefixes: `[profile x]`, `[sso-session x]`, `[services x]`. */
export const SECTION_TYPES = ["profile", "sso-session", "services"] as const;
export type SectionType = (typeof SECTION_TYPES)[number];

// Copied from the SDK: `[\w-@+.%:/]` is \w plus - @ + . % : / (no range in a non-unicode regex).
const PREFIXED_SECTION = /^([\w-]+)\s(["'])?([\w\-@+.%:/]+)\2$/;
/** Names the SDK accepts after a section prefix. */
export const SECTION_NAME = /^[\w\-@+.%:/]+$/;

/** Splits text into lines without their terminators, as the SDK does (`\r?\n`). */
export function splitIniLines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** The line without its comment: `#` or `;` at the start or after whitespace (so `start#/` stays). */
export function stripIniComment(line: string): string {
  return line.split(/(^|\s)[;#]/)[0] ?? "";
}

/** Where the comment begins in a raw line (the whitespace before it included), or the line length. */
export function commentStart(line: string): number {
  const match = /(^|\s)[;#]/.exec(line);
  return match ? match.index : line.length;
}

export type HeaderKey =
  /** A header the SDK keeps: `profile.x`, `sso-session.x`, `services.x`, or a bare name like `default`. */
  | { kind: "section"; key: string }
  /** A prefixed header with an unknown prefix: the SDK skips its keys. */
  | { kind: "ignored" };

/**
 * The SDK's map key for a header line, or undefined when the line is not a header.
 * `[profile dev.admin]` → `profile.dev.admin`; `[default]` → `default`.
 */
export function parseHeader(line: string): HeaderKey | undefined {
  const trimmed = stripIniComment(line).trim();
  if (trimmed[0] !== "[" || trimmed[trimmed.length - 1] !== "]") return undefined;
  const name = trimmed.substring(1, trimmed.length - 1);
  const match = PREFIXED_SECTION.exec(name);
  if (!match) return { kind: "section", key: name };
  const [, prefix = "", , sectionName = ""] = match;
  return (SECTION_TYPES as readonly string[]).includes(prefix)
    ? { kind: "section", key: `${prefix}.${sectionName}` }
    : { kind: "ignored" };
}

export interface KeyLine {
  name: string;
  /** Empty for a sub-section opener such as `sso_oidc =`. */
  value: string;
  /** Whether the raw line starts with whitespace (continues a sub-section). */
  indented: boolean;
}

/** A `name = value` line as the SDK reads it, or undefined when the SDK ignores the line. */
export function parseKeyLine(line: string): KeyLine | undefined {
  const trimmed = stripIniComment(line).trim();
  const eq = trimmed.indexOf("=");
  if (eq === -1 || eq === 0) return undefined;
  return {
    name: trimmed.substring(0, eq).trim(),
    value: trimmed.substring(eq + 1).trim(),
    indented: line.trimStart() !== line,
  };
}
