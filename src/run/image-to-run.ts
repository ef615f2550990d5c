import { spawn } from "node:child_process";
import { writeSync } from "node:fs";
import type { DockerEngine, ImageDetails } from "../docker/engine.js";
import { DockerError } from "../runtime/errors.js";
import type { DockerCli } from "./docker-cli.js";
import { exitOf } from "./docker-process.js";
import type { RunArgs } from "./run-args.js";

/** The engine's image of that name, unless `--pull always` asks for a fresh one anyway. */
export function inspectLocalImage(engine: DockerEngine, args: RunArgs): Promise<ImageDetails | undefined> {
  return args.pull === "always" ? Promise.resolve(undefined) : engine.inspectImage(args.image);
}

/**
 * The image to run, pulled first as `docker run` would (`--pull`) when the engine lacks it;
 * `local` is inspectLocalImage's answer, which a caller may have asked for early.
 */
export async function imageToRun(
  engine: DockerEngine,
  args: RunArgs,
  docker: DockerCli,
  local: Promise<ImageDetails | undefined> = inspectLocalImage(engine, args),
): Promise<ImageDetails> {
  const found = await local;
  if (found !== undefined) return found;
  if (args.pull === "never") {
    throw new DockerError(
      `Image ${args.image} is not on the Docker engine at ${engine.host}, and --pull=never.`,
      {
        hint: `Run \`docker pull ${args.image}\` first.`,
      },
    );
  }
  // On fd 2 itself, as docker would: process.stderr would leave it non-blocking for docker run,
  // which this process may become (exec-docker.ts).
  if (args.pull === "missing") writeSync(2, `Unable to find image '${args.image}' locally\n`);
  // Pull progress goes to stderr, as with `docker run`: stdout belongs to the container.
  const pull = spawn(
    docker.command,
    [
      ...docker.globalArgs,
      "pull",
      ...(args.platform === undefined ? [] : ["--platform", args.platform]),
      args.image,
    ],
    { stdio: ["ignore", 2, "inherit"] },
  );
  const code = await exitOf(pull);
  const pulled = code === 0 ? await engine.inspectImage(args.image) : undefined;
  if (pulled === undefined) {
    throw new DockerError(`Could not pull image ${args.image} (docker pull exit ${code}).`, {
      hint: `Check the name, and \`docker login\` for a private registry: docker pull ${args.image}`,
    });
  }
  return pulled;
}
