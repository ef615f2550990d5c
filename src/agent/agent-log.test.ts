import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogFileWriter } from "./agent-log.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "agent-log-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("createLogFileWriter", () => {
  it("appends lines to what is there, and past the limit starts anew, keeping one old file", async () => {
    const log = join(dir, "agent.log");
    await writeFile(log, "from before\n");
    const write = createLogFileWriter(log, 40);
    write("line 1 .............");
    write("line 2 .............");
    expect(await readFile(log, "utf8")).toBe("line 2 .............\n");
    expect(await readFile(`${log}.1`, "utf8")).toBe("from before\nline 1 .............\n");
    write("line 3 .............");
    write("line 4 .............");
    expect(await readFile(log, "utf8")).toBe("line 4 .............\n");
    expect(await readFile(`${log}.1`, "utf8")).toBe("line 3 .............\n");
    expect((await stat(log)).mode & 0o777).toBe(0o600);
  });

  it("writes a line longer than the limit rather than dropping it", async () => {
    const log = join(dir, "new.log");
    const write = createLogFileWriter(log, 10);
    write("a line longer than ten bytes");
    expect(await readFile(log, "utf8")).toBe("a line longer than ten bytes\n");
  });
});
