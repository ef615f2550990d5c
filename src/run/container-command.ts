import type { ImageDetails } from "../docker/engine.js";
import { RUN_DIR } from "../delivery/paths.js";
import type { StaticFiles } from "../delivery/static-files.js";
import { DockerError } from "../runtime/errors.js";
import type { RunArgs } from "./run-args.js";

/**
 * The command the container would run under plain `docker run`, by the engine's own rules
 * (moby `merge` and `mergeAndVerifyConfig`): an `--entrypoint`, even "", drops the image's
 * entrypoint and CMD; otherwise the image's entrypoint runs with the given command or its CMD.
 */
export function containerArgv(
  image: ImageDetails,
  args: Pick<RunArgs, "entrypoint" | "command" | "image">,
): string[] {
  const argv =
    args.entrypoint !== undefined
      ? [...(args.entrypoint === "" ? [] : [args.entrypoint]), ...args.command]
      : [...image.entrypoint, ...(args.command.length > 0 ? args.command : image.cmd)];
  if (argv.length === 0) {
    throw new DockerError(`Image ${args.image} has no command to run.`, {
      hint: `Name one after the image: sso-docker run ${args.image} COMMAND`,
    });
  }
  return argv;
}

/**
 * Runs first in every `sso-docker run` container, as its user, on each start: puts the config
 * and the helper on the (fresh, 1777) tmpfs, then execs the real entrypoint, which keeps PID 1,
 * signals and the exit code. `$1`/`$2` are the files, the rest is the command. Nothing secret
 * passes here: the credentials come later, through `docker exec` stdin.
 */
export const PRELUDE = [
  "umask 022",
  `d=${RUN_DIR}`,
  `{ printf '%s' "$1" > "$d/config" && printf '%s' "$2" > "$d/credential-process"; } 2>/dev/null || echo "sso-docker: cannot write $d, so AWS profiles are not set up in this container" >&2`,
  "shift 2",
  'exec "$@"',
].join("; ");

/** `--entrypoint` and the arguments after the image that wrap `argv` in the prelude. */
export function preludeArgs(
  files: StaticFiles,
  argv: readonly string[],
): { entrypoint: string; args: string[] } {
  return { entrypoint: "/bin/sh", args: ["-c", PRELUDE, "sso-docker", files.config, files.helper, ...argv] };
}
