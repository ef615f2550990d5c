import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readJsonFile, withCacheLock, writeFileAtomically } from "./cache-files.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sso-docker-cache-files-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function increment(path: string, writer: string): Promise<void> {
  const current = await readJsonFile(path);
  const value =
    current.kind === "json"
      ? (current.value as { count: number; writers: string[] })
      : { count: 0, writers: [] };
  await sleep(1); // widen the window a missing lock would lose updates in
  await writeFileAtomically(
    path,
    JSON.stringify({ count: value.count + 1, writers: [...value.writers, writer] }),
    0o600,
  );
}

describe("withCacheLock", () => {
  it("serialises read-modify-write inside one process", async () => {
    const path = join(dir, "sub", "counter.json");
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => withCacheLock(path, () => increment(path, `w${i}`))),
    );
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ count: 25 });
    expect((await stat(join(dir, "sub"))).mode & 0o777).toBe(0o700);
  });

  it("is re-entrant for the same path in the same async context", async () => {
    const path = join(dir, "nested.json");
    const result = await withCacheLock(path, () => withCacheLock(path, () => Promise.resolve("inner")));
    expect(result).toBe("inner");
  });

  it("releases the lock when the function throws", async () => {
    const path = join(dir, "throws.json");
    await expect(withCacheLock(path, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(withCacheLock(path, () => Promise.resolve(1))).resolves.toBe(1);
  });

  it("waits for a lock held by someone else", async () => {
    const path = join(dir, "held.json");
    await mkdir(`${path}.lock`);
    let acquired = false;
    const waiting = withCacheLock(path, () => {
      acquired = true;
      return Promise.resolve();
    });
    await sleep(300);
    expect(acquired).toBe(false);
    await rm(`${path}.lock`, { recursive: true });
    await waiting;
    expect(acquired).toBe(true);
  });

  it("takes over a stale lock left by a dead process", async () => {
    const path = join(dir, "stale.json");
    await mkdir(`${path}.lock`);
    const old = new Date(Date.now() - 60_000);
    await utimes(`${path}.lock`, old, old);
    const started = Date.now();
    await withCacheLock(path, () => Promise.resolve());
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("readJsonFile", () => {
  it("tells missing, valid and corrupt files apart", async () => {
    const path = join(dir, "f.json");
    expect(await readJsonFile(path)).toEqual({ kind: "missing" });
    await writeFile(path, '{"a": 1}');
    expect(await readJsonFile(path)).toEqual({ kind: "json", value: { a: 1 } });
    await writeFile(path, '{"a": ');
    expect(await readJsonFile(path)).toEqual({ kind: "corrupt", problem: "is not valid JSON" });
  });

  it("gets past a rewrite in progress (the AWS CLI truncates, then writes)", async () => {
    const path = join(dir, "f.json");
    await writeFile(path, "");
    const reading = readJsonFile(path);
    await writeFile(path, '{"done": true}');
    expect(await reading).toEqual({ kind: "json", value: { done: true } });
  });
});

/**
 * Plain `node` children cannot run TypeScript on Node 20, so the modules are transpiled once
 * into the temp dir, beside a node_modules link for their package imports.
 */
async function transpileForChildren(root: string): Promise<void> {
  const ts = (await import("typescript")).default;
  const src = fileURLToPath(new URL("..", import.meta.url));
  for (const sub of ["aws-files", "runtime"]) {
    await mkdir(join(root, sub), { recursive: true });
    for (const name of await readdir(join(src, sub))) {
      if (!name.endsWith(".ts") || name.endsWith(".test.ts")) continue;
      const source = await readFile(join(src, sub, name), "utf8");
      const options = {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      };
      const output = ts.transpileModule(source, { compilerOptions: options }).outputText;
      await writeFile(join(root, sub, name.replace(/\.ts$/, ".js")), output);
    }
  }
  await writeFile(join(root, "package.json"), '{"type": "module"}');
  await symlink(join(src, "..", "node_modules"), join(root, "node_modules"));
}

describe("two processes at once", () => {
  it("lose no update and leave valid JSON", async () => {
    const root = join(dir, "build");
    await transpileForChildren(root);
    const child = join(root, "child.js");
    await writeFile(
      child,
      `import { readFile } from "node:fs/promises";
import { withCacheLock, writeFileAtomically } from "./aws-files/cache-files.js";
import { writeSsoToken } from "./aws-files/token-cache.js";
const [counter, tokenPath, id] = process.argv.slice(2);
for (let i = 0; i < 10; i++) {
  await withCacheLock(counter, async () => {
    const value = JSON.parse(await readFile(counter, "utf8").catch(() => '{"count":0}'));
    await new Promise((resolve) => setTimeout(resolve, 2));
    await writeFileAtomically(counter, JSON.stringify({ count: value.count + 1, last: id }), 0o600);
  });
  await writeSsoToken(tokenPath, {
    startUrl: "https://x/start", region: "us-east-1", accessToken: id + "-" + i, expiresAt: "2026-01-01T00:00:00Z",
  });
}
`,
    );
    const counter = join(dir, "cache", "counter.json");
    const tokenPath = join(dir, "cache", "token.json");
    const run = (id: string) =>
      promisify(execFile)(process.execPath, [child, counter, tokenPath, id], { timeout: 60_000 });
    await Promise.all([run("a"), run("b"), run("c")]);
    expect(JSON.parse(await readFile(counter, "utf8"))).toMatchObject({ count: 30 });
    const token = JSON.parse(await readFile(tokenPath, "utf8")) as { accessToken: string };
    expect(token.accessToken).toMatch(/^[abc]-9$/);
    expect((await stat(tokenPath)).mode & 0o777).toBe(0o600);
  }, 120_000);
});
