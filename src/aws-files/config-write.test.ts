import { chmod, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../runtime/errors.js";
import { resolveAwsPaths } from "../runtime/paths.js";
import { loadAwsConfig } from "./config-read.js";
import { updateAwsConfig, writeAwsConfig } from "./config-write.js";

let home: string;
let configFile: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "sso-docker-config-write-"));
  configFile = resolveAwsPaths({ HOME: home }).configFile;
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("writeAwsConfig", () => {
  it("creates ~/.aws with 0700 and a new file with 0600", async () => {
    await writeAwsConfig(configFile, "[default]\nregion = x\n");
    expect(await readFile(configFile, "utf8")).toBe("[default]\nregion = x\n");
    expect((await stat(join(home, ".aws"))).mode & 0o777).toBe(0o700);
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
  });

  it("keeps an existing file's mode", async () => {
    await mkdir(join(home, ".aws"));
    await writeFile(configFile, "old");
    await chmod(configFile, 0o644);
    await writeAwsConfig(configFile, "new");
    expect((await stat(configFile)).mode & 0o777).toBe(0o644);
  });

  it("writes through a symlinked config (dotfile managers)", async () => {
    const target = join(home, "dotfiles-config");
    await writeFile(target, "old");
    await mkdir(join(home, ".aws"));
    await symlink(target, configFile);
    await writeAwsConfig(configFile, "new");
    expect((await lstat(configFile)).isSymbolicLink()).toBe(true);
    expect(await readFile(target, "utf8")).toBe("new");
  });

  it("names the file when it cannot be written", async () => {
    await mkdir(configFile, { recursive: true });
    const error = await writeAwsConfig(configFile, "x").catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(configFile);
  });
});

describe("updateAwsConfig", () => {
  it("loses neither of two concurrent updates", async () => {
    await Promise.all(
      ["one", "two", "three"].map((name) =>
        updateAwsConfig(configFile, [{ type: "profile", name, values: { sso_session: "s", region: name } }]),
      ),
    );
    const config = await loadAwsConfig(configFile);
    expect(Object.keys(config.profiles).sort()).toEqual(["one", "three", "two"]);
  });

  it("does not rewrite an unchanged file", async () => {
    await mkdir(join(home, ".aws"));
    await writeFile(configFile, "[profile a]\nregion = x\n");
    const before = (await stat(configFile)).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await updateAwsConfig(configFile, [{ type: "profile", name: "a", values: { region: "x" } }]);
    expect((await stat(configFile)).mtimeMs).toBe(before);
  });
});
