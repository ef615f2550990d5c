import { spawn } from "node:child_process";
import type { DockerEngine, ImageDetails } from "../docker/engine.js";
import { DockerError } from "../runtime/errors.js";
import { exitOf } from "./docker-process.js";
import type { RunArgs } from "./run-args.js";

/** The image's entrypoint and CMD; pulls it first as `docker run` would (`--pull`). */
export async function imageToRun(engine: DockerEngine, args: RunArgs, docker: string): Promise<ImageDetails> {
  const local = args.pull === "always" ? undefined : await engine.inspectImage(args.image);
  if (local !== undefined) return local;
  if (args.pull === "never") {
    throw new DockerError(
      `Image ${args.image} is not on the Docker engine at ${engine.host}, and --pull=never.`,
      {
        hint: `Run \`docker pull ${args.image}\` first.`,
      },
    );
  }
  if (args.pull === "missing") process.stderr.write(`Unable to find image '${args.image}' locally\n`);
  // Pull progress goes to stderr, as with `docker run`: stdout belongs to the container.
  const pull = spawn(
    docker,
    ["pull", ...(args.platform === undefined ? [] : ["--platform", args.platform]), args.image],
    { stdio: ["ignore", process.stderr, "inherit"] },
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
