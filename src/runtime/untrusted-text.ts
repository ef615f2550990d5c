/**
 * Text that came from inside a container (its stderr, a file in its image, a label a container
 * author chose) is attacker-controlled. Before it reaches a log line or an error message it is
 * made one line of printable characters, capped in length, and set apart as the container's
 * words, so it can neither forge a line of sso-docker's own (a fake "open URL and enter CODE"
 * sign-in prompt) nor move the terminal's cursor.
 */

/** Longest piece of foreign text a log line carries. */
export const MAX_FOREIGN_CHARS = 200;

// C0 controls, DEL, C1 controls, and the Unicode marks that reorder or hide text on a terminal:
// line/paragraph separators, bidi embeddings, overrides and isolates, zero-width and BOM.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

function escapeChar(char: string): string {
  switch (char) {
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
    default: {
      const code = char.codePointAt(0) ?? 0;
      return code <= 0xff
        ? `\\x${code.toString(16).padStart(2, "0")}`
        : `\\u${code.toString(16).padStart(4, "0")}`;
    }
  }
}

/** Every control or invisible character as a visible escape (`\n`, `\x1b`, `\u202e`). */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * Foreign text ready for a log line: escaped, capped at `max` characters (with "…" and how many
 * were cut), and quoted, e.g. `«mv: cannot stat \x1b[31m…»`. Empty text stays visible as `«»`.
 */
export function quoteForeign(text: string, max = MAX_FOREIGN_CHARS): string {
  const chars = Array.from(text); // code points: a cut never splits a surrogate pair
  const cut = chars.length > max ? chars.length - max : 0;
  const kept = cut > 0 ? chars.slice(0, max).join("") : text;
  return `«${escapeControls(kept)}${cut > 0 ? `… (${String(cut)} more characters)` : ""}»`;
}
