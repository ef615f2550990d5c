import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GRANT_KEY_BYTES, grantKeyPath, loadGrantKey } from "./grant-key.js";

let home: string;
const env = () => ({ HOME: home });
const uid = process.getuid?.() ?? 0;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "sso-docker-grant-key-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("loadGrantKey", () => {
  it("creates 32 random bytes once, 0600 in a 0700 dir, and reads the same key after", async () => {
    const key = await loadGrantKey(env(), home, uid);
    expect(key.length).toBe(GRANT_KEY_BYTES);
    const path = grantKeyPath(env(), home);
    expect(path).toBe(join(home, ".sso-docker", "grant.key"));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, ".sso-docker"))).mode & 0o777).toBe(0o700);
    expect((await loadGrantKey(env(), home, uid)).equals(key)).toBe(true);
    const other = await mkdtemp(join(tmpdir(), "sso-docker-grant-key-"));
    try {
      expect((await loadGrantKey({ HOME: other }, other, uid)).equals(key)).toBe(false);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("lives under $XDG_STATE_HOME/sso-docker when that is set", async () => {
    await loadGrantKey({ HOME: home, XDG_STATE_HOME: join(home, "state") }, home, uid);
    expect((await stat(join(home, "state", "sso-docker", "grant.key"))).isFile()).toBe(true);
  });

  it("gives every one of many concurrent creators the same key and leaves no temporary file", async () => {
    const keys = await Promise.all(Array.from({ length: 20 }, () => loadGrantKey(env(), home, uid)));
    const hex = new Set(keys.map((k) => k.toString("hex")));
    expect(hex.size).toBe(1);
    expect(await readdir(join(home, ".sso-docker"))).toEqual(["grant.key"]);
  });

  it("refuses a key file that others can read, naming it and the chmod to run", async () => {
    await loadGrantKey(env(), home, uid);
    const path = grantKeyPath(env(), home);
    await chmod(path, 0o644);
    await expect(loadGrantKey(env(), home, uid)).rejects.toMatchObject({
      message: `The grant key ${path} has mode 0644, which lets other users read it.`,
      hint: `chmod 600 ${path}`,
    });
  });

  it("refuses a key file of another user", async () => {
    await loadGrantKey(env(), home, uid);
    await expect(loadGrantKey(env(), home, uid + 1)).rejects.toThrow(
      `belongs to uid ${String(uid)}, not to you (uid ${String(uid + 1)})`,
    );
  });

  it("refuses a link planted in place of the key, and a file of the wrong size", async () => {
    const dir = join(home, ".sso-docker");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const elsewhere = join(home, "elsewhere");
    await writeFile(elsewhere, Buffer.alloc(GRANT_KEY_BYTES, 7), { mode: 0o600 });
    await symlink(elsewhere, join(dir, "grant.key"));
    await expect(loadGrantKey(env(), home, uid)).rejects.toThrow("is a symbolic link");
    await rm(join(dir, "grant.key"));
    await writeFile(join(dir, "grant.key"), "short", { mode: 0o600 });
    await expect(loadGrantKey(env(), home, uid)).rejects.toThrow("holds 5 bytes, not 32");
  });
});
