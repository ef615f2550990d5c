import { createRequire } from "node:module";
import type { Pack } from "tar-stream";
import type { DockerEngine } from "../docker/engine.js";
import { RUN_ETC_DIR } from "../delivery/paths.js";
import type { StaticFiles } from "../delivery/static-files.js";
import { DockerError } from "../runtime/errors.js";
import type { RunChecks } from "./run-checks.js";
import { volumeCheckKey } from "./run-checks.js";

/**
 * The config and helper of `sso-docker run` containers live on a named volume per content (the
 * stamp hashes both files), mounted read-only at /run/sso-docker/etc. So the container keeps
 * its image's entrypoint and command, and the config is there at its first instruction, before
 * the agent's first push.
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

/**
 * `docker run --mount` value for the volume, in the words both the docker CLI and the podman CLI
 * take: podman refuses `readonly` and `volume-driver` ("invalid mount option"); `ro` is read-only
 * in both, and volume options alone mean the local driver in both.
 */
export function volumeMount(name: string): string {
  return [
    "type=volume",
    `src=${name}`,
    `dst=${RUN_ETC_DIR}`,
    "ro",
    `volume-opt=type=${MISSING_VOLUME_TYPE}`,
    `volume-opt=device=${MISSING_VOLUME_TYPE}`,
  ].join(",");
}

/** Where the probe container mounts the volume to write it. */
const FILL_AT = "/sso-docker-volume";

/** What a run found out, for the next run to trust (run-checks.ts). */
export interface VolumeCheck {
  volume: string;
  /** Set when a probe just showed it: the image ID has /bin/sh. */
  shell?: string;
  /** Set when a probe just filled the volume or found it filled (volumeCheckKey). */
  filled?: string;
}

/**
 * Before a container of `image` (its ID, so the check holds for what it names now) is created
 * with these files: checks the image has /bin/sh (the helper and the push need one) and that
 * the engine holds the volume with the files, creating and filling it if not, with one container
 * that is created and removed but never started. What earlier runs checked (`known`) needs no
 * such container: the usual run makes two requests, for the volume and nothing else.
 */
export async function prepareRunVolume(
  engine: DockerEngine,
  image: { name: string; id: string },
  files: StaticFiles,
  known: RunChecks,
): Promise<VolumeCheck> {
  const name = volumeName(files);
  const hash = stampHash(files);
  let found = await engine.inspectVolume(name);
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
    found = undefined;
  }
  if (found === undefined) {
    await engine.createVolume(name, { [VOLUME_LABEL]: hash });
    found = await engine.inspectVolume(name);
  }
  const filled = found === undefined ? undefined : volumeCheckKey(engine.host, found);
  const shellKnown = known.shells.includes(image.id);
  if (shellKnown && filled !== undefined && known.volumes.includes(filled)) return { volume: name };
  const probe = await engine.createContainer({
    image: image.id,
    labels: { [VOLUME_LABEL]: "probe" },
    volumes: { [FILL_AT]: name },
  });
  try {
    if (!shellKnown && !(await engine.pathExists(probe, "/bin/sh"))) throw noShellError(image.name);
    // The config goes last: once it is there, so is the helper.
    if (!(await engine.pathExists(probe, `${FILL_AT}/config`))) {
      await engine.putArchive(probe, FILL_AT, await tarOf(files));
    }
  } finally {
    await engine.removeContainer(probe);
  }
  return { volume: name, shell: image.id, ...(filled === undefined ? {} : { filled }) };
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
