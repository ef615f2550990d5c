import { DockerError } from "../runtime/errors.js";
import { quoteForeign } from "../runtime/untrusted-text.js";

/**
 * An `ssh://[user@]host[:port][/socket]` engine address, reached as the docker CLI reaches it:
 * the user's own OpenSSH client runs `docker system dial-stdio` on the remote machine, so host
 * aliases, ProxyJump, IdentityFile, the ssh agent and known_hosts all apply. Only what the URL
 * names is passed on; the rest is the user's ssh configuration.
 */
export interface SshEndpoint {
  /** The address as written, for messages. */
  address: string;
  /** A host name, address or `Host` alias of the user's ssh config. */
  host: string;
  /** Absent: ssh's configured or default user. */
  user?: string;
  /** Absent: ssh's configured or default port. */
  port?: string;
  /** The remote engine's socket when the URL has a path: `docker --host=unix://PATH`. */
  socketPath?: string;
}

// Controls and the characters that reorder or hide text: in no name or path of an engine.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u;
/** Nor whitespace in a host or user name: it could split an argument on its way. */
const UNFIT = new RegExp(`\\s|${CONTROLS.source}`, "u");

/**
 * Reads an ssh:// URL the way the docker CLI does (cli/connhelper/ssh), and refuses what could
 * turn into an ssh option or split an argument: a leading `-`, whitespace, control characters.
 */
export function parseSshEndpoint(url: URL, location: { host: string; source: string }): SshEndpoint {
  const refuse = (what: string): DockerError =>
    new DockerError(
      `The Docker engine address ${quoteForeign(location.host)} (${location.source}) ${what}.`,
      {
        hint: "Use ssh://[user@]host[:port], with a host name or an alias from ~/.ssh/config.",
      },
    );
  if (url.search !== "" || url.hash !== "") throw refuse("has a query or fragment");
  if (url.password !== "") throw refuse("carries a password; use a key or the ssh agent instead");
  // Node keeps the brackets of an IPv6 literal; ssh wants the bare address.
  const host = decode(url.hostname.replace(/^\[(.*)\]$/, "$1"), refuse);
  const user = decode(url.username, refuse);
  for (const [what, value] of [
    ["host", host],
    ["user", user],
  ] as const) {
    if (value.startsWith("-"))
      throw refuse(`has a ${what} starting with "-", which ssh would read as an option`);
    if (UNFIT.test(value)) throw refuse(`has whitespace or a control character in its ${what}`);
  }
  if (host === "") throw refuse("names no host");
  const path = decode(url.pathname, refuse);
  if (CONTROLS.test(path)) throw refuse("has a control character in its socket path");
  return {
    address: location.host,
    host,
    ...(user === "" ? {} : { user }),
    ...(url.port === "" ? {} : { port: url.port }),
    ...(path.replaceAll("/", "") === "" ? {} : { socketPath: path }),
  };
}

function decode(text: string, refuse: (what: string) => DockerError): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw refuse("has a malformed %-escape");
  }
}

/**
 * The arguments of the docker CLI's own ssh connection helper: `-l`/`-p` only when the URL names
 * them, a 30-s connect timeout, no terminal, and after `--` the host and one remote command,
 * which the remote shell splits (hence the quoting).
 */
export function sshArguments(endpoint: SshEndpoint): string[] {
  const remote =
    endpoint.socketPath === undefined
      ? ["docker", "system", "dial-stdio"]
      : ["docker", `--host=unix://${endpoint.socketPath}`, "system", "dial-stdio"];
  return [
    ...(endpoint.user === undefined ? [] : ["-l", endpoint.user]),
    ...(endpoint.port === undefined ? [] : ["-p", endpoint.port]),
    "-o",
    "ConnectTimeout=30",
    "-T",
    "--",
    endpoint.host,
    remote.map(quotePosix).join(" "),
  ];
}

/** One word for a POSIX shell: as it is when it holds nothing special, else single-quoted. */
export function quotePosix(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
