import type { DockerEngine } from "../docker/engine.js";
import { DockerError } from "../runtime/errors.js";

/**
 * The Dev Container Feature's options live in two files of the image. They are read from the
 * image, never from the container that asks: root in a container can rewrite its own copy, but
 * not the image it was made from. A container of the image is created (never started, no
 * network), both files are read through the archive API (no process runs, so nothing on any
 * PATH), and the container is removed. Images are immutable under their ID, so the answer is
 * kept per image ID: N containers of one image cost one read.
 */

/** Both files, one a line: `/etc/sso-docker/profiles` lists the names, `user` holds one line. */
export const FEATURE_PROFILES_FILE = "/etc/sso-docker/profiles";
export const FEATURE_USER_FILE = "/etc/sso-docker/user";

/**
 * Marks the reading container: `docker ps -a` shows what it is should one outlive the agent.
 * It is never started, and the agent only follows started containers, so it never takes part.
 */
export const READER_LABEL = "sso-docker.reader";
export const READER_LABEL_VALUE = "feature-files";

/** A few profile names and a user name: anything larger is not the Feature's doing. */
export const MAX_FEATURE_FILE_BYTES = 64 * 1024;

/** The two files' text, `undefined` where the image has no such file. */
export interface FeatureFiles {
  profiles: string | undefined;
  user: string | undefined;
}

export interface FeatureImageOptions {
  /** Image IDs remembered; the least recently used goes first. */
  capacity?: number;
  /** Bound on one image's reads: the engine answers in milliseconds when it is well. */
  timeoutMs?: number;
  /** The agent's stop. */
  signal?: AbortSignal;
}

export class FeatureImageReader {
  /** In least-recently-used order (a Map keeps insertion order; a hit is re-inserted). */
  private readonly known = new Map<string, FeatureFiles>();
  /** Reads under way: concurrent lookups of one image share one. */
  private readonly pending = new Map<string, Promise<FeatureFiles>>();
  private readonly capacity: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly engine: DockerEngine,
    private readonly options: FeatureImageOptions = {},
  ) {
    this.capacity = options.capacity ?? 64;
    this.timeoutMs = options.timeoutMs ?? 20_000;
  }

  /** The Feature's files in image `imageId` (an ID, not a name a later build can move). */
  read(imageId: string): Promise<FeatureFiles> {
    const known = this.known.get(imageId);
    if (known !== undefined) {
      this.known.delete(imageId);
      this.known.set(imageId, known);
      return Promise.resolve(known);
    }
    const pending = this.pending.get(imageId);
    if (pending !== undefined) return pending;
    // A failure is not remembered: the next start of a container of the image tries again.
    const read = this.readImage(imageId)
      .then((files) => {
        this.remember(imageId, files);
        return files;
      })
      .finally(() => this.pending.delete(imageId));
    this.pending.set(imageId, read);
    return read;
  }

  private remember(imageId: string, files: FeatureFiles): void {
    this.known.set(imageId, files);
    for (const oldest of this.known.keys()) {
      if (this.known.size <= this.capacity) break;
      this.known.delete(oldest);
    }
  }

  private async readImage(imageId: string): Promise<FeatureFiles> {
    const { engine } = this;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal =
      this.options.signal === undefined ? timeout : AbortSignal.any([this.options.signal, timeout]);
    const reader = await engine.createContainer({
      image: imageId,
      labels: { [READER_LABEL]: READER_LABEL_VALUE },
    });
    try {
      const read = (path: string) =>
        engine.readFile(reader, path, { maxBytes: MAX_FEATURE_FILE_BYTES, signal });
      const [profiles, user] = await Promise.all([read(FEATURE_PROFILES_FILE), read(FEATURE_USER_FILE)]);
      return { profiles: profiles?.toString("utf8"), user: user?.toString("utf8") };
    } catch (error) {
      if (timeout.aborted) {
        throw new DockerError(
          `Reading the sso-docker Feature's files took the engine at ${engine.host} over ${String(this.timeoutMs / 1000)} s.`,
          { cause: error, hint: "Run `docker info` to check the engine." },
        );
      }
      throw error;
    } finally {
      await engine.removeContainer(reader);
    }
  }
}
