import { escapeControls } from "./untrusted-text.js";

/**
 * Diagnostic output goes to stderr so stdout stays clean for `credentials` and `--json`.
 * Callers log names, paths and counts, never secret values; `redact` is the backstop for
 * anything that echoes a request or response.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

const SECRET_KEYS =
  /("?(?:accessToken|refreshToken|clientSecret|secretAccessKey|sessionToken|deviceCode|codeVerifier|code|idToken|SecretAccessKey|SessionToken|Token)"?\s*[:=]\s*"?)([^",\s&}]+)/g;

/** Masks the value of every known secret field in a JSON- or query-shaped string. */
export function redact(text: string): string {
  return text.replace(SECRET_KEYS, "$1***");
}

/**
 * What a log line carries: secrets masked, and one line of printable text whatever a message
 * holds (a container name, a path, an error that quotes a container), so no part of a message
 * can start a line of its own or move the terminal's cursor.
 */
function clean(message: string): string {
  return escapeControls(redact(message));
}

export function createLogger(options: {
  debug: boolean;
  write?: (line: string) => void;
  prefix?: string;
}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const prefix = options.prefix ?? "";
  return {
    // Milliseconds since the process started: enough to see where a command spends its time.
    debug: (message) => {
      if (options.debug) write(`${prefix}debug: ${clean(message)} (+${Math.round(performance.now())} ms)`);
    },
    info: (message) => {
      write(`${prefix}${clean(message)}`);
    },
    warn: (message) => {
      write(`${prefix}warning: ${clean(message)}`);
    },
  };
}

export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined };
