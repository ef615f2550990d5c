import { createRequire } from "node:module";
import type { Pack } from "tar-stream";
import type { DockerEngine } from "../docker/engine.js";
import { RUN_ETC_DIR } from "../delivery/paths.js";
import type { StaticFiles } from "../delivery/static-files.js";
import { DockerError } from "../runtime/errors.js";

/**
 * The config and helper of `sso-docker run` containers live on a named volume per content (the
 * stamp hashes both files), mounted read-only at /run/sso-docker/etc. So the container keeps
 * its image's entrypoint and command, and `docker run` needs nothing from the image to be
 * assembled: the shell front (sso-docker.sh) can exec it without Node in front.
 */
export const VOLUME_LABEL = "sso-docker.profiles-volume";

/**
 * Driver options that make a missing volume fail loudly: the engine creates a named volume a
 * mount asks for if it does not exist, and would give the container an empty config; with these
 * options that mount fails ("no such device", docker exit 125) instead. An existing volume
 * keeps the options it was created with (none), so they only ever apply to a missing one.
 */
export const MISSING_VOLUME_TYPE = "sso-docker-missing";

export function volumeName(files: StaticFiles): string {
  return `sso-docker-profiles-${stampHash(files)}`;
}

function stampHash(files: StaticFiles): string {
  return files.stamp.replace(/^# sso-docker /, "");
}

/** `docker run --mount` value for the volume. */
export function volumeMount(name: string): string {
  return [
    "type=volume",
    `src=${name}`,
    `dst=${RUN_ETC_DIR}`,
    "readonly",
    "volume-driver=local",
    `volume-opt=type=${MISSING_VOLUME_TYPE}`,
    `volume-opt=device=${MISSING_VOLUME_TYPE}`,
  ].join(",");
}

/** Where the probe container mounts the volume to write it. */
const FILL_AT = "/sso-docker-volume";

/**
 * Before a container of `image` is created with these files: checks the image has /bin/sh
 * (the helper and the push need one) and that the engine holds the volume, creating and
 * filling it if not, with one container that is created and removed but never started.
 * Returns the volume's name.
 */
export async function prepareRunVolume(
  engine: DockerEngine,
  image: string,
  files: StaticFiles,
): Promise<string> {
  const name = volumeName(files);
  const hash = stampHash(files);
  const found = await engine.inspectVolume(name);
  if (found !== undefined && found.labels[VOLUME_LABEL] !== hash) {
    // Not ours as made: the engine created it empty (with MISSING_VOLUME_TYPE) for a run that
    // found it gone, e.g. after `docker volume prune`.
    await engine.removeVolume(name).catch((error: unknown) => {
      throw new DockerError(
        `Volume ${name} on ${engine.host}, which holds AWS config for sso-docker run, is broken.`,
        {
          hint: `Remove it and the containers using it (\`docker volume rm ${name}\`), then run again.`,
          cause: error,
        },
      );
    });
  }
  if (found === undefined || found.labels[VOLUME_LABEL] !== hash) {
    await engine.createVolume(name, { [VOLUME_LABEL]: hash });
  }
  const probe = await engine.createContainer({
    image,
    labels: { [VOLUME_LABEL]: "probe" },
    volumes: { [FILL_AT]: name },
  });
  try {
    if (!(await engine.pathExists(probe, "/bin/sh"))) throw noShellError(image);
    // The config goes last: once it is there, so is the helper.
    if (!(await engine.pathExists(probe, `${FILL_AT}/config`))) {
      await engine.putArchive(probe, FILL_AT, await tarOf(files));
    }
  } finally {
    await engine.removeContainer(probe);
  }
  return name;
}

export function noShellError(image: string): DockerError {
  return new DockerError(
    `Image ${image} has no /bin/sh, so sso-docker run cannot set up AWS credentials in it.`,
    {
      hint: "sso-docker needs a POSIX shell in the container (distroless and scratch images have none): use a variant with one (busybox, -debug, slim).",
    },
  );
}

/** The two files, root's and world-readable, in that order. tar-stream only loads here. */
async function tarOf(files: StaticFiles): Promise<Buffer> {
  const tar = createRequire(import.meta.url)("tar-stream") as typeof import("tar-stream");
  const pack: Pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on("data", (chunk: Buffer) => chunks.push(chunk));
    pack.on("end", () => {
      resolve(Buffer.concat(chunks));
    });
    pack.on("error", reject);
  });
  const entry = { uid: 0, gid: 0, mode: 0o644, mtime: new Date(0) };
  pack.entry({ ...entry, name: "credential-process" }, files.helper);
  pack.entry({ ...entry, name: "config" }, files.config);
  pack.finalize();
  return done;
}
