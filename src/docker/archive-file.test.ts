import { Readable } from "node:stream";
import { pack, type Headers } from "tar-stream";
import { describe, expect, it } from "vitest";
import { ARCHIVE_OVERHEAD_BYTES, fileFromArchive } from "./archive-file.js";

// Archives as a hostile container's engine could answer them, built with tar-stream's packer.

const PATH = "/etc/sso-docker/profiles";

async function tarOf(entries: readonly [Headers, string?][]): Promise<Buffer> {
  const packer = pack();
  const chunks: Buffer[] = [];
  packer.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve) => packer.on("end", resolve));
  for (const [header, content] of entries) {
    if (content === undefined) packer.entry(header);
    else packer.entry(header, content);
  }
  packer.finalize();
  await done;
  return Buffer.concat(chunks);
}

const read = async (entries: readonly [Headers, string?][], maxBytes = 1024) =>
  fileFromArchive(Readable.from([await tarOf(entries)]), PATH, maxBytes);

describe("fileFromArchive", () => {
  it("returns the regular file named like the path", async () => {
    expect((await read([[{ name: "profiles" }, "dev\nops\n"]])).toString()).toBe("dev\nops\n");
    expect((await read([[{ name: "profiles" }, ""]])).length).toBe(0);
  });

  it("refuses a symbolic link, quoting its target", async () => {
    await expect(
      read([[{ name: "profiles", type: "symlink", linkname: "/home/dev/\u001b[31mx" }]]),
    ).rejects.toThrow(
      "/etc/sso-docker/profiles is a symbolic link (to «/home/dev/\\x1b[31mx»), not a regular file.",
    );
  });

  it("refuses a directory, a hard link and a device", async () => {
    await expect(
      read([[{ name: "profiles/", type: "directory" }], [{ name: "profiles/x" }, "dev\n"]]),
    ).rejects.toThrow("/etc/sso-docker/profiles is a directory, not a regular file.");
    await expect(read([[{ name: "profiles", type: "link", linkname: "user" }]])).rejects.toThrow(
      "is a hard link, not a regular file.",
    );
    await expect(read([[{ name: "profiles", type: "character-device" }]])).rejects.toThrow(
      "is a character device, not a regular file.",
    );
  });

  it("refuses an entry with another name", async () => {
    await expect(read([[{ name: "../../root/.ssh/profiles" }, "dev\n"]])).rejects.toThrow(
      "The engine's archive of /etc/sso-docker/profiles holds «../../root/.ssh/profiles» instead.",
    );
  });

  it("refuses a file over the limit from its header, before reading it", async () => {
    await expect(read([[{ name: "profiles" }, "x".repeat(1025)]], 1024)).rejects.toThrow(
      "/etc/sso-docker/profiles is 1025 bytes, over the limit of 1024.",
    );
    expect((await read([[{ name: "profiles" }, "x".repeat(1024)]], 1024)).length).toBe(1024);
  });

  it("refuses an empty archive and bytes that are no archive", async () => {
    await expect(read([])).rejects.toThrow("The engine's archive of /etc/sso-docker/profiles holds no file.");
    await expect(fileFromArchive(Readable.from([Buffer.alloc(512, "x")]), PATH, 1024)).rejects.toThrow();
  });

  it("stops at the file: an endless answer after it is never read", async () => {
    const head = await tarOf([[{ name: "profiles" }, "dev\n"]]);
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1;
        this.push(produced === 1 ? head.subarray(0, 1024) : Buffer.alloc(64 * 1024));
      },
    });
    expect((await fileFromArchive(endless, PATH, 1024)).toString()).toBe("dev\n");
    expect(endless.destroyed).toBe(true);
  });

  it("stops an answer that grows past what a one-file archive holds", async () => {
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(16 * 1024));
      },
    });
    // Zero blocks are end-of-archive markers tar-stream skips over; the byte count still ends it.
    await expect(fileFromArchive(endless, PATH, 1024)).rejects.toThrow(
      `exceeds ${String(1024 + ARCHIVE_OVERHEAD_BYTES)} bytes`,
    );
    expect(endless.destroyed).toBe(true);
  });

  it("rejects with the signal's reason when aborted", async () => {
    const stalled = new Readable({ read: () => undefined });
    const controller = new AbortController();
    const reading = fileFromArchive(stalled, PATH, 1024, controller.signal);
    controller.abort(new Error("agent stopping"));
    await expect(reading).rejects.toThrow("agent stopping");
    expect(stalled.destroyed).toBe(true);
  });
});
