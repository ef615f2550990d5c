/**
 * Python's `json.dumps` with its defaults (separators ", " and ": ", ensure_ascii), which
 * the AWS CLI uses both for its cache files and for the text it hashes into cache keys.
 */
export type PythonJsonValue =
  | string
  | number
  | boolean
  | null
  | readonly PythonJsonValue[]
  | { readonly [key: string]: PythonJsonValue | undefined };

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** ensure_ascii: everything outside printable ASCII becomes \uXXXX (lower-case hex, UTF-16 units). */
function encodeString(value: string): string {
  const escaped = value.replace(/[^\x20-\x7e]|["\\]/g, (char) => {
    return SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
  return `"${escaped}"`;
}

function encodeNumber(value: number): string {
  // Python prints floats differently (1.0, 1e-07); the AWS files only ever hold integers.
  if (!Number.isSafeInteger(value))
    throw new TypeError(`pythonJsonDumps supports integers only, got ${value}`);
  return String(value);
}

export interface PythonJsonOptions {
  sortKeys?: boolean;
  /** separators=(",", ":"), as botocore uses for the SSO credential cache key. */
  compact?: boolean;
}

/** Keys whose value is undefined are left out, as JSON.stringify does. */
export function pythonJsonDumps(value: PythonJsonValue, options: PythonJsonOptions = {}): string {
  const [item, key] = options.compact ? [",", ":"] : [", ", ": "];
  if (value === null) return "null";
  if (typeof value === "string") return encodeString(value);
  if (typeof value === "number") return encodeNumber(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) {
    const items = value as readonly PythonJsonValue[];
    return `[${items.map((entry) => pythonJsonDumps(entry, options)).join(item)}]`;
  }
  const entries = Object.entries(value).filter(
    (entry): entry is [string, PythonJsonValue] => entry[1] !== undefined,
  );
  // Python sorts by code point; these keys are ASCII, where that equals UTF-16 order.
  if (options.sortKeys) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([name, entry]) => `${encodeString(name)}${key}${pythonJsonDumps(entry, options)}`).join(item)}}`;
}
