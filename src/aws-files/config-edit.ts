import { ConfigError } from "../runtime/errors.js";
import { SECTION_NAME, commentStart, parseHeader, parseKeyLine, stripIniComment } from "./ini-syntax.js";

/**
 * Edits ~/.aws/config as text: only the sections sso-docker owns change, and within them
 * only the keys it sets. Every other byte (comments, blank lines, unknown keys, sub-sections,
 * `#` inside URLs, CRLF, a missing final newline) stays as the user wrote it. The `ini`
 * package cannot do this (it splits dotted names, cuts at `#`, drops comments), and its
 * stringify quotes values the AWS SDK parser would then read with the quotes, so it is not used.
 */

export interface ConfigSectionUpdate {
  type: "profile" | "sso-session";
  /** Profile "default" is written as `[default]`. */
  name: string;
  /** Keys to set, new ones written in this order; undefined removes the key. */
  values: Readonly<Record<string, string | undefined>>;
}

interface Line {
  content: string;
  /** "\n", "\r\n", or "" for a last line without a newline. */
  eol: string;
}

function splitLines(text: string): Line[] {
  const parts = text.split(/(\r?\n)/);
  const lines: Line[] = [];
  for (let i = 0; i < parts.length; i += 2) lines.push({ content: parts[i] ?? "", eol: parts[i + 1] ?? "" });
  // A final newline leaves an empty remainder, which is not a line.
  if (lines.length > 0 && lines[lines.length - 1]?.content === "" && lines[lines.length - 1]?.eol === "")
    lines.pop();
  return lines;
}

function joinLines(lines: readonly Line[]): string {
  return lines.map((line) => line.content + line.eol).join("");
}

function detectEol(text: string): string {
  const first = text.indexOf("\n");
  return first > 0 && text[first - 1] === "\r" ? "\r\n" : "\n";
}

interface SectionSpan {
  /** Index of the header line. */
  header: number;
  /** One past the last body line. */
  end: number;
  key: string | undefined;
}

function findSections(lines: readonly Line[]): SectionSpan[] {
  const spans: SectionSpan[] = [];
  lines.forEach((line, index) => {
    const header = parseHeader(line.content);
    if (!header) return;
    const previous = spans[spans.length - 1];
    if (previous) previous.end = index;
    spans.push({ header: index, end: lines.length, key: header.kind === "section" ? header.key : undefined });
  });
  return spans;
}

/** SDK section keys this update may edit, most authoritative first. */
function targetKeys(update: ConfigSectionUpdate): string[] {
  if (update.type === "sso-session") return [`sso-session.${update.name}`];
  // The SDK reads [profile default] instead of [default] when both exist.
  return update.name === "default" ? ["profile.default", "default"] : [`profile.${update.name}`];
}

function renderHeader(update: ConfigSectionUpdate): string {
  if (update.type === "profile" && update.name === "default") return "[default]";
  return `[${update.type} ${update.name}]`;
}

/** Indices of top-level `key = value` lines for `key` (sub-section lines excluded). */
function keyLineIndices(lines: readonly Line[], span: SectionSpan, key: string): number[] {
  const found: number[] = [];
  let inSubSection = false;
  for (let i = span.header + 1; i < span.end; i++) {
    const keyLine = parseKeyLine(lines[i]?.content ?? "");
    if (!keyLine) continue;
    if (keyLine.value === "") {
      inSubSection = true;
      continue;
    }
    if (inSubSection && !keyLine.indented) inSubSection = false;
    if (!inSubSection && keyLine.name === key) found.push(i);
  }
  return found;
}

/**
 * Sets the value on line `index`, keeping its indentation and spacing. An inline comment moves
 * to its own line above: the AWS CLI (Python configparser) would read it as part of the value.
 * A line that already holds the value is left alone.
 */
function replaceValue(lines: Line[], index: number, value: string, eol: string): void {
  const line = lines[index];
  if (!line || parseKeyLine(line.content)?.value === value) return;
  const cut = commentStart(line.content);
  const body = line.content.substring(0, cut);
  const eq = body.indexOf("=");
  const spacing = /^\s*/.exec(body.substring(eq + 1))?.[0] ?? "";
  const comment = line.content.substring(cut).trim();
  line.content = body.substring(0, eq + 1) + spacing + value;
  if (comment !== "") {
    const indent = /^\s*/.exec(body)?.[0] ?? "";
    lines.splice(index, 0, { content: indent + comment, eol });
  }
}

/** After the section's last setting, before trailing blank lines and comments (which often introduce the next section). */
function insertionPoint(lines: readonly Line[], span: SectionSpan): number {
  let after = span.header;
  for (let i = span.header + 1; i < span.end; i++) {
    if (stripIniComment(lines[i]?.content ?? "").trim() !== "") after = i;
  }
  return after;
}

function insertAfter(lines: Line[], index: number, contents: readonly string[], eol: string): void {
  if (contents.length === 0) return;
  const anchor = lines[index];
  const newLines = contents.map((content) => ({ content, eol }));
  // Keep a missing final newline missing: the new last line takes over the anchor's "".
  if (anchor && anchor.eol === "") {
    anchor.eol = eol;
    const last = newLines[newLines.length - 1];
    if (last) last.eol = "";
  }
  lines.splice(index + 1, 0, ...newLines);
}

function removeLine(lines: Line[], index: number): void {
  const removed = lines.splice(index, 1)[0];
  const previous = lines[index - 1];
  if (removed?.eol === "" && index === lines.length && previous) previous.eol = "";
}

function validate(update: ConfigSectionUpdate): void {
  const what = `[${update.type} ${update.name}]`;
  if (!SECTION_NAME.test(update.name)) {
    throw new ConfigError(
      `Cannot write ${what}: the AWS SDKs only read names made of letters, digits and - _ @ + . % : /.`,
      {
        hint: `Choose another name, e.g. sso-docker configure --profile ${update.name.replace(/[^\w\-@+.%:/]/g, "-")}`,
      },
    );
  }
  for (const [key, value] of Object.entries(update.values)) {
    if (!/^[A-Za-z_][\w.-]*$/.test(key))
      throw new ConfigError(`Cannot write the setting "${key}" in ${what}.`);
    if (value === undefined) continue;
    // Empty opens a sub-section, whitespace is trimmed, " #" starts a comment: all would change the value.
    if (value === "" || value !== value.trim() || /[\r\n]/.test(value) || /(^|\s)[;#]/.test(value)) {
      throw new ConfigError(
        `Cannot write ${key} = "${value}" in ${what}: the AWS SDKs would read a different value.`,
        {
          hint: "Use a value without surrounding spaces, line breaks, or a space before # or ;",
        },
      );
    }
  }
}

function applyUpdate(lines: Line[], update: ConfigSectionUpdate, eol: string): boolean {
  const keys = targetKeys(update);
  const key = keys.find((candidate) => findSections(lines).some((span) => span.key === candidate));
  if (key === undefined) return false;
  // Duplicate sections merge in the SDK (later keys win), so every copy is edited.
  const matching = () => findSections(lines).filter((span) => span.key === key);
  const additions: string[] = [];
  for (const [name, value] of Object.entries(update.values)) {
    // Bottom-up, so a removed or split line never shifts one still to visit.
    const hits = matching()
      .flatMap((span) => keyLineIndices(lines, span, name))
      .sort((a, b) => b - a);
    if (value !== undefined && hits.length === 0) additions.push(`${name} = ${value}`);
    for (const index of hits) {
      if (value === undefined) removeLine(lines, index);
      else replaceValue(lines, index, value, eol);
    }
  }
  const last = matching().at(-1);
  if (last) insertAfter(lines, insertionPoint(lines, last), additions, eol);
  return true;
}

function appendSection(lines: Line[], update: ConfigSectionUpdate, eol: string): void {
  const body = Object.entries(update.values).flatMap(([key, value]) =>
    value === undefined ? [] : [`${key} = ${value}`],
  );
  const last = lines[lines.length - 1];
  const hadFinalNewline = !last || last.eol !== "";
  if (last && last.eol === "") last.eol = eol;
  if (last && last.content.trim() !== "") lines.push({ content: "", eol });
  for (const content of [renderHeader(update), ...body]) lines.push({ content, eol });
  const added = lines[lines.length - 1];
  if (!hadFinalNewline && added) added.eol = "";
}

/**
 * Sets keys in `[profile …]` / `[sso-session …]` sections, editing existing sections in
 * place and appending missing ones at the end. Everything else is returned byte for byte.
 */
export function upsertConfigSections(text: string, updates: readonly ConfigSectionUpdate[]): string {
  for (const update of updates) validate(update);
  const eol = detectEol(text);
  const lines = splitLines(text);
  for (const update of updates) {
    if (!applyUpdate(lines, update, eol)) appendSection(lines, update, eol);
  }
  return joinLines(lines);
}
