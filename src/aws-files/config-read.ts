import { readFile } from "node:fs/promises";
import { ConfigError } from "../runtime/errors.js";
import { parseHeader, parseKeyLine, splitIniLines, stripIniComment } from "./ini-syntax.js";

/** One section's keys; sub-section keys are flattened as the SDK does (`sso_oidc.endpoint_url`). */
export type IniSection = Readonly<Record<string, string>>;
type SectionMap = Readonly<Record<string, IniSection>>;

/** `~/.aws/config` as the AWS SDK for JavaScript v3 sees it. */
export interface AwsConfig {
  /** `[default]` and `[profile X]` by profile name (`loadSharedConfigFiles().configFile`). */
  readonly profiles: SectionMap;
  /** `[sso-session X]` by session name (`loadSsoSessionData()`). */
  readonly ssoSessions: SectionMap;
  /** `[services X]` by name, sub-sections flattened (`configFile["services.X"]`). */
  readonly services: SectionMap;
}

const BLOCKED_SECTIONS = ["__proto__", "profile __proto__"];

/** An own entry of a config map; never an inherited property such as `constructor`. */
export function lookupSection(map: SectionMap, name: string): IniSection | undefined {
  return Object.hasOwn(map, name) ? map[name] : undefined;
}

function emptyMap(): Record<string, Record<string, string>> {
  return Object.create(null) as Record<string, Record<string, string>>;
}

/**
 * The SDK's `parseIni`: section key (`profile.x`, `sso-session.x`, `default`, …) → keys.
 * Ported rather than imported: importing the SDK loader costs ~50 ms at start-up, and
 * `sso-docker credentials` runs as a host `credential_process`. Tests prove it equal.
 */
export function parseIniSections(text: string): Record<string, Record<string, string>> {
  const map = emptyMap();
  let section: string | undefined;
  let subSection: string | undefined;
  for (const line of splitIniLines(text)) {
    const header = parseHeader(line);
    if (header) {
      section = header.kind === "section" ? header.key : undefined;
      subSection = undefined;
      continue;
    }
    // An empty name (`[]`) is falsy in the SDK and drops the section's keys too.
    if (!section) continue;
    const keyLine = parseKeyLine(line);
    if (!keyLine) continue;
    if (keyLine.value === "") {
      subSection = keyLine.name;
      continue;
    }
    if (subSection !== undefined && !keyLine.indented) subSection = undefined;
    const key = subSection === undefined ? keyLine.name : `${subSection}.${keyLine.name}`;
    // The SDK assigns into a plain object, where `__proto__ = x` sets nothing.
    if (key === "__proto__") continue;
    const target = (map[section] ??= Object.create(null) as Record<string, string>);
    target[key] = keyLine.value;
  }
  return map;
}

/** Splits the parsed sections the way `getConfigData` and `getSsoSessionData` do. */
function toAwsConfig(sections: Record<string, Record<string, string>>): AwsConfig {
  const profiles = emptyMap();
  const ssoSessions = emptyMap();
  const services = emptyMap();
  const defaultSection = sections["default"];
  if (defaultSection) profiles["default"] = defaultSection;
  for (const [key, values] of Object.entries(sections)) {
    const dot = key.indexOf(".");
    if (dot === -1) continue;
    const prefix = key.substring(0, dot);
    const name = key.substring(dot + 1);
    if (prefix === "profile") profiles[name] = values;
    else if (prefix === "sso-session") ssoSessions[name] = values;
    else if (prefix === "services") services[name] = values;
  }
  return { profiles, ssoSessions, services };
}

/**
 * The first line the AWS CLI would refuse (its Python configparser raises on it) or that
 * would make the JS SDK drop the whole file. The JS SDK skips such lines silently, which
 * quietly moves keys into the wrong section; better to say so with a line number.
 */
export function findConfigSyntaxError(text: string): { line: number; problem: string } | undefined {
  let inSection = false;
  const lines = splitIniLines(text);
  for (const [index, line] of lines.entries()) {
    const at = (problem: string) => ({ line: index + 1, problem });
    if (line.includes("\u0000")) return at("contains binary data");
    if (line.includes("\uFFFD")) return at("is not UTF-8 text");
    const content = stripIniComment(line).trim();
    if (content === "") continue;
    if (content.startsWith("[")) {
      const name = content.substring(1, content.length - 1);
      if (!parseHeader(line) || name.trim() === "")
        return at("is not a valid section header (expected [name])");
      if (BLOCKED_SECTIONS.includes(name)) return at(`uses the reserved section name [${name}]`);
      inSection = true;
      continue;
    }
    if (!inSection) return at("has a setting outside any [section]");
    // Indented lines continue a sub-section or a multi-line value.
    if (line.trimStart() !== line) continue;
    if (!/[=:]/.test(content)) return at("is neither a [section] nor a name = value setting");
    if (content.startsWith("=") || content.startsWith(":")) return at("has a value but no setting name");
  }
  return undefined;
}

/** Parses config text; `file` is only named in errors. */
export function parseAwsConfig(text: string, file: string): AwsConfig {
  const error = findConfigSyntaxError(text);
  if (error) {
    throw new ConfigError(
      `The AWS config file ${file} cannot be parsed: line ${error.line} ${error.problem}.`,
      {
        // Configure reads the file too and would stop at the same line: only a fresh file helps it.
        hint: `Fix line ${error.line} of ${file} in a text editor, or move the file aside and run: sso-docker configure`,
      },
    );
  }
  return toAwsConfig(parseIniSections(text));
}

/** Reads and parses `~/.aws/config`; a missing file is an empty config, as for the SDKs. */
export async function loadAwsConfig(file: string): Promise<AwsConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { profiles: emptyMap(), ssoSessions: emptyMap(), services: emptyMap() };
    throw new ConfigError(`The AWS config file ${file} cannot be read (${code ?? "unknown error"}).`, {
      hint: `Check it with: ls -l ${file}`,
      cause: err,
    });
  }
  return parseAwsConfig(text, file);
}
