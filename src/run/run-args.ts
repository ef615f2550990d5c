import { ProfileError } from "../runtime/errors.js";

/**
 * `docker run` flags that take no value (pflag booleans); every other flag takes one. Only
 * needed to find where the options end and the image begins — the options themselves pass
 * to the docker CLI untouched.
 */
export const BOOLEAN_LONG = new Set([
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
export const BOOLEAN_SHORT = new Set(["d", "i", "t", "P", "q", "h"]);

export type PullPolicy = "missing" | "always" | "never";
const PULL_POLICIES: readonly string[] = ["missing", "always", "never"];

/** The parts of a `sso-docker run` command line. */
export interface RunArgs {
  /** `--profile` values, in order (the first is the container's default profile). */
  profiles: string[];
  /** docker run's options as given, minus `--profile` and `--pull`. */
  options: string[];
  image: string;
  /** COMMAND [ARG...] after the image, untouched. */
  command: string[];
  pull: PullPolicy;
  /** `--platform`, which `docker pull` needs too. */
  platform: string | undefined;
  detach: boolean;
  /** `-h` / `--help` before the image. */
  help: boolean;
}

function boolValue(inline: string | undefined): boolean {
  return inline === undefined || inline === "true" || inline === "1";
}

/** Splits `sso-docker run` arguments into ours and docker's, finding the image. */
export function parseRunArgs(argv: readonly string[]): RunArgs {
  const out: Omit<RunArgs, "image"> = {
    profiles: [],
    options: [],
    command: [],
    pull: "missing",
    platform: undefined,
    detach: false,
    help: false,
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
      } else if (name === "pull") {
        const policy = inline ?? next(arg);
        if (!PULL_POLICIES.includes(policy)) {
          throw new ProfileError(`--pull must be one of ${PULL_POLICIES.join(", ")}, not "${policy}".`, {
            hint: "sso-docker run --pull missing IMAGE",
          });
        }
        out.pull = policy as PullPolicy;
      } else if (BOOLEAN_LONG.has(name)) {
        if (name === "detach") out.detach = boolValue(inline);
        if (name === "help") out.help = boolValue(inline);
        out.options.push(arg);
      } else {
        const value = inline ?? next(arg);
        if (name === "platform") out.platform = value;
        out.options.push(...(inline === undefined ? [arg, value] : [arg]));
      }
      continue;
    }
    // A cluster of short flags, e.g. -it, -dit, -e FOO=1, -eFOO=1, -p80:80: passed on as given.
    out.options.push(arg);
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j] ?? "";
      if (BOOLEAN_SHORT.has(flag)) {
        if (flag === "d") out.detach = true;
        if (flag === "h") out.help = true;
        continue;
      }
      if (j === arg.length - 1) out.options.push(next(`-${flag}`));
      break;
    }
  }
  const [image, ...command] = argv.slice(i);
  if (image === undefined) {
    if (out.help) return { ...out, image: "" };
    throw new ProfileError("sso-docker run needs an image.", {
      hint: "sso-docker run --profile NAME IMAGE [COMMAND]",
    });
  }
  return { ...out, image, command };
}
