import { ProfileError } from "../runtime/errors.js";

/**
 * `docker run` flags that take no value (pflag booleans); every other flag takes one. Only
 * needed to find where the options end and the image begins — the options themselves pass
 * to the docker CLI untouched.
 */
const BOOLEAN_LONG = new Set([
  "detach",
  "interactive",
  "tty",
  "rm",
  "init",
  "privileged",
  "publish-all",
  "read-only",
  "no-healthcheck",
  "oom-kill-disable",
  "sig-proxy",
  "disable-content-trust",
  "quiet",
  "help",
  "use-api-socket",
]);
const BOOLEAN_SHORT = new Set(["d", "i", "t", "P", "q"]);

/** The parts of a `sso-docker run` command line. */
export interface RunArgs {
  /** `--profile` values, in order (the first is the container's default profile). */
  profiles: string[];
  /** Options for `docker create` (everything but the start-time ones below). */
  createOptions: string[];
  /** IMAGE [COMMAND] [ARG...], untouched. */
  imageAndCommand: string[];
  detach: boolean;
  interactive: boolean;
  /** `--detach-keys`, a `docker start` option. */
  detachKeys: string | undefined;
  /** `--sig-proxy=false`: do not forward signals to the container. */
  sigProxy: boolean;
}

function boolValue(inline: string | undefined): boolean {
  return inline === undefined || inline === "true" || inline === "1";
}

/** Splits `sso-docker run` arguments into ours (`--profile`) and docker's, finding the image. */
export function parseRunArgs(argv: readonly string[]): RunArgs {
  const out: RunArgs = {
    profiles: [],
    createOptions: [],
    imageAndCommand: [],
    detach: false,
    interactive: false,
    detachKeys: undefined,
    sigProxy: true,
  };
  let i = 0;
  const next = (flag: string): string => {
    const value = argv[++i];
    if (value === undefined)
      throw new ProfileError(`Option ${flag} needs a value.`, { hint: "sso-docker run --help" });
    return value;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const inline = eq === -1 ? undefined : arg.slice(eq + 1);
      if (name === "profile") {
        out.profiles.push(inline ?? next(arg));
      } else if (name === "detach") {
        out.detach = boolValue(inline);
      } else if (name === "sig-proxy") {
        out.sigProxy = boolValue(inline);
      } else if (name === "detach-keys") {
        out.detachKeys = inline ?? next(arg);
      } else if (BOOLEAN_LONG.has(name)) {
        if (name === "interactive") out.interactive = boolValue(inline);
        out.createOptions.push(arg);
      } else {
        out.createOptions.push(arg);
        if (inline === undefined) out.createOptions.push(next(arg));
      }
      continue;
    }
    // A cluster of short flags, e.g. -it, -dit, -e FOO=1, -eFOO=1, -p80:80.
    const kept: string[] = [];
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j] ?? "";
      if (BOOLEAN_SHORT.has(flag)) {
        if (flag === "d") out.detach = true;
        else kept.push(flag);
        if (flag === "i") out.interactive = true;
        continue;
      }
      const rest = arg.slice(j + 1).replace(/^=/, "");
      const value = rest !== "" ? rest : next(`-${flag}`);
      if (kept.length > 0) out.createOptions.push(`-${kept.join("")}`);
      kept.length = 0;
      out.createOptions.push(`-${flag}`, value);
      break;
    }
    if (kept.length > 0) out.createOptions.push(`-${kept.join("")}`);
  }
  out.imageAndCommand = argv.slice(i);
  if (out.imageAndCommand.length === 0) {
    throw new ProfileError("sso-docker run needs an image.", {
      hint: "sso-docker run --profile NAME IMAGE [COMMAND]",
    });
  }
  return out;
}
