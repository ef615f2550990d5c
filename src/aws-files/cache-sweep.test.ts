import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveAwsPaths } from "../runtime/paths.js";
import type { CachedTokenFile } from "./cache-sweep.js";
import { deleteCliCredentialCache, deleteSsoTokens, listSsoTokenFiles } from "./cache-sweep.js";

let home: string;
let ssoCacheDir: string;
let cliCacheDir: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "sso-docker-sweep-"));
  ({ ssoCacheDir, cliCacheDir } = resolveAwsPaths({ HOME: home }));
  await mkdir(ssoCacheDir, { recursive: true });
  await mkdir(cliCacheDir, { recursive: true });
  const token = (name: string) => ({
    startUrl: `https://${name}.awsapps.com/start`,
    region: "us-east-1",
    accessToken: `${name}-token`,
    expiresAt: "2026-01-01T00:00:00Z",
  });
  await writeFile(join(ssoCacheDir, "a.json"), JSON.stringify(token("a")));
  await writeFile(join(ssoCacheDir, "b.json"), JSON.stringify(token("b")));
  await writeFile(
    join(ssoCacheDir, "reg.json"),
    '{"clientId": "c", "clientSecret": "s", "expiresAt": "2026-01-01T00:00:00Z"}',
  );
  await writeFile(join(ssoCacheDir, "broken.json"), '{"accessToken": ');
  await writeFile(join(ssoCacheDir, "notes.txt"), '{"accessToken": "not a cache file"}');
  await mkdir(join(ssoCacheDir, "a.json.lock"));
  await writeFile(join(cliCacheDir, "sso.json"), '{"ProviderType": "sso", "Credentials": {}}');
  await writeFile(join(cliCacheDir, "assume.json"), '{"ProviderType": "assume-role", "Credentials": {}}');
  await writeFile(join(cliCacheDir, "junk.json"), "nope");
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("logout sweeps", () => {
  it("lists token files only", async () => {
    const files = await listSsoTokenFiles(ssoCacheDir);
    expect(files.map((file) => file.path)).toEqual([
      join(ssoCacheDir, "a.json"),
      join(ssoCacheDir, "b.json"),
    ]);
    expect(files[0]).toMatchObject({ region: "us-east-1", startUrl: "https://a.awsapps.com/start" });
  });

  it("deletes token files after the callback, keeping registrations and other files", async () => {
    const seen: CachedTokenFile[] = [];
    // a.json.lock is held by "someone": remove it shortly so the locked delete can proceed.
    setTimeout(() => void rm(join(ssoCacheDir, "a.json.lock"), { recursive: true }), 200);
    const deleted = await deleteSsoTokens(ssoCacheDir, {
      beforeDelete: (file) => {
        seen.push(file);
        return Promise.resolve();
      },
    });
    expect(deleted).toEqual([join(ssoCacheDir, "a.json"), join(ssoCacheDir, "b.json")]);
    expect(seen.map((file) => file.accessToken)).toEqual(["a-token", "b-token"]);
    expect((await readdir(ssoCacheDir)).sort()).toEqual(["broken.json", "notes.txt", "reg.json"]);
  });

  it("keeps a token file when the callback fails", async () => {
    await rm(join(ssoCacheDir, "a.json.lock"), { recursive: true });
    await expect(
      deleteSsoTokens(ssoCacheDir, { beforeDelete: () => Promise.reject(new Error("offline")) }),
    ).rejects.toThrow("offline");
    expect(await readdir(ssoCacheDir)).toContain("a.json");
  });

  it("deletes only SSO role credentials from the CLI cache", async () => {
    expect(await deleteCliCredentialCache(cliCacheDir)).toEqual([join(cliCacheDir, "sso.json")]);
    expect((await readdir(cliCacheDir)).sort()).toEqual(["assume.json", "junk.json"]);
  });

  it("does nothing when the directories do not exist", async () => {
    expect(await listSsoTokenFiles(join(home, "none"))).toEqual([]);
    expect(await deleteSsoTokens(join(home, "none"))).toEqual([]);
    expect(await deleteCliCredentialCache(join(home, "none"))).toEqual([]);
  });
});
