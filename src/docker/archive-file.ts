import { createRequire } from "node:module";
import { posix } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { Headers } from "tar-stream";
import { DockerError } from "../runtime/errors.js";
import { quoteForeign } from "../runtime/untrusted-text.js";

/**
 * Room for what a one-file archive carries besides the file: its header, pax records (long
 * names, xattrs), padding and the end blocks. A larger answer is refused before it is buffered.
 */
export const ARCHIVE_OVERHEAD_BYTES = 64 * 1024;

const KINDS: Partial<Record<NonNullable<Headers["type"]>, string>> = {
  directory: "a directory",
  link: "a hard link",
  "character-device": "a character device",
  "block-device": "a block device",
  fifo: "a named pipe",
};

/** What the engine client gets for an archive: an HTTP response body. */
export interface ArchiveStream {
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  pipe(destination: Writable): unknown;
  unpipe(destination: Writable): unknown;
  destroy(): unknown;
}

/** Why an archive entry is not the file asked for, or undefined when it is. */
function refusal(header: Headers, path: string, maxBytes: number): string | undefined {
  if (header.type === "symlink") {
    return `${path} is a symbolic link (to ${quoteForeign(header.linkname ?? "")}), not a regular file`;
  }
  if (header.type !== "file") {
    return `${path} is ${KINDS[header.type ?? "file"] ?? `a ${header.type ?? "typeless"} entry`}, not a regular file`;
  }
  if (header.name !== posix.basename(path)) {
    return `The engine's archive of ${path} holds ${quoteForeign(header.name)} instead`;
  }
  const size = header.size ?? 0;
  if (size > maxBytes) return `${path} is ${String(size)} bytes, over the limit of ${String(maxBytes)}`;
  return undefined;
}

/**
 * The one regular file of a `GET /containers/{id}/archive?path=…` answer. The archive is the
 * container's, so it is read as hostile: only a first entry that is a regular file named like
 * `path`, at most `maxBytes` long, is accepted, and reading stops right after it (or as soon as
 * the answer grows past what such an archive can hold). Anything else rejects with a DockerError
 * naming `path`. `archive` is destroyed in every case.
 */
export function fileFromArchive(
  archive: ArchiveStream,
  path: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  // Loaded here only: `sso-docker run`'s bundle must not load packages at start.
  const tar = createRequire(import.meta.url)("tar-stream") as typeof import("tar-stream");
  const extract = tar.extract();
  const limit = maxBytes + ARCHIVE_OVERHEAD_BYTES;
  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: Buffer | Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      archive.unpipe(extract);
      archive.destroy();
      extract.destroy();
      if (Buffer.isBuffer(outcome)) resolve(outcome);
      else reject(outcome);
    };
    const refuse = (reason: string) => {
      settle(new DockerError(`${reason}.`));
    };
    const onAbort = () => {
      settle(signal?.reason as Error);
    };
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    let received = 0;
    archive.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) refuse(`The engine's archive of ${path} exceeds ${String(limit)} bytes`);
    });
    archive.on("error", settle);
    extract.on("error", settle);
    extract.on("entry", (header: Headers, content: Readable) => {
      const reason = refusal(header, path, maxBytes);
      if (reason !== undefined) {
        refuse(reason);
        return;
      }
      const chunks: Buffer[] = [];
      content.on("data", (chunk: Buffer) => chunks.push(chunk));
      content.on("end", () => {
        settle(Buffer.concat(chunks));
      });
    });
    extract.on("finish", () => {
      refuse(`The engine's archive of ${path} holds no file`);
    });
    archive.pipe(extract);
  });
}
