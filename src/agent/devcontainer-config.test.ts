import { execFile } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkConfigBinding, featureProfileLists, isSsoDockerFeature } from "./devcontainer-config.js";

let dir: string;
const uid = process.getuid?.() ?? 0;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sso-docker-devcontainer-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function config(text: string, name = "devcontainer.json"): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe("isSsoDockerFeature", () => {
  it("knows the Feature by OCI reference (tag, digest, registry port) and by local path", () => {
    for (const id of [
      "ghcr.io/owner/repo/sso-docker:0",
      "ghcr.io/owner/repo/sso-docker",
      "ghcr.io/owner/repo/sso-docker@sha256:0123abcd",
      "localhost:5000/team/sso-docker:1.2",
      "./sso-docker",
      "./features/sso-docker/",
      "../shared/sso-docker",
    ]) {
      expect(isSsoDockerFeature(id), id).toBe(true);
    }
  });

  it("does not take other Features, look-alikes or a bare name for it", () => {
    for (const id of [
      "ghcr.io/devcontainers/features/aws-cli:1",
      "ghcr.io/owner/sso-docker-extra:1",
      "ghcr.io/owner/not-sso-docker:1",
      "sso-docker",
      "ghcr.io/owner/sso-docker/other:1",
      "https://example.com/devcontainer-feature-sso-docker.tgz",
    ]) {
      expect(isSsoDockerFeature(id), id).toBe(false);
    }
  });
});

describe("featureProfileLists", () => {
  it("reads JSONC (comments, trailing commas) and the profiles option, default when absent", () => {
    const text = `{
      // the Feature, pinned by digest
      "features": {
        "ghcr.io/o/r/sso-docker@sha256:00": { "profiles": " dev, prod ,", },
        "./sso-docker": {},
        "ghcr.io/devcontainers/features/node:1": { "profiles": "admin" },
      },
    }`;
    expect(featureProfileLists(text)).toEqual([["dev", "prod"], ["default"]]);
  });

  it("gives no list without the Feature, and refuses text that is not a JSONC object", () => {
    expect(featureProfileLists('{ "image": "debian" }')).toEqual([]);
    expect(featureProfileLists('{ "features": { "ghcr.io/x/y/node:1": {} } }')).toEqual([]);
    expect(() => featureProfileLists('{ "features": ')).toThrow("not a JSON (with comments) object");
    expect(featureProfileLists("[1]")).toEqual([]);
    expect(() => featureProfileLists("42")).toThrow();
  });
});

describe("checkConfigBinding", () => {
  const FEATURE = '{ "features": { "./sso-docker": { "profiles": "dev,ops" } } }';

  it("binds the profiles a file of this user gives the Feature, in any order or subset", async () => {
    const path = await config(FEATURE);
    expect(await checkConfigBinding(path, ["ops", "dev"], uid)).toEqual({ bound: true });
    expect(await checkConfigBinding(path, ["dev"], uid)).toEqual({ bound: true });
    expect(await checkConfigBinding(path, undefined, uid)).toEqual({ bound: true });
  });

  it("does not bind other profiles, a file without the Feature, or a missing file", async () => {
    const path = await config(FEATURE);
    expect(await checkConfigBinding(path, ["dev", "admin"], uid)).toEqual({
      bound: false,
      why: `devcontainer.json «${path}» gives the sso-docker Feature the profiles «dev,ops», not «dev,admin»`,
    });
    const plain = await config('{ "image": "debian" }', "plain.json");
    expect(await checkConfigBinding(plain, ["dev"], uid)).toMatchObject({
      why: expect.stringContaining("does not install the sso-docker Feature") as string,
    });
    expect(await checkConfigBinding(join(dir, "gone.json"), ["dev"], uid)).toMatchObject({
      why: expect.stringContaining("cannot be opened on this host (ENOENT)") as string,
    });
  });

  it("does not bind a file of another user, a relative path, a directory or broken JSONC", async () => {
    const path = await config(FEATURE);
    expect(await checkConfigBinding(path, ["dev"], uid + 1)).toMatchObject({
      why: expect.stringContaining(`belongs to uid ${String(uid)}, not to this agent's user`) as string,
    });
    expect(await checkConfigBinding("devcontainer.json", ["dev"], uid)).toMatchObject({
      why: expect.stringContaining("is not an absolute path") as string,
    });
    expect(await checkConfigBinding(dir, ["dev"], uid)).toMatchObject({
      why: expect.stringContaining("is not a regular file") as string,
    });
    const broken = await config('{ "features": { "./sso-docker": ', "broken.json");
    expect(await checkConfigBinding(broken, ["dev"], uid)).toMatchObject({
      why: expect.stringContaining("cannot be parsed") as string,
    });
  });

  it("does not hang on a FIFO named in a label, and escapes the label's text in its reason", async () => {
    const fifo = join(dir, "fifo");
    await promisify(execFile)("mkfifo", [fifo]);
    expect(await checkConfigBinding(fifo, ["dev"], uid)).toMatchObject({
      why: expect.stringContaining("is not a regular file") as string,
    });
    const result = await checkConfigBinding(`${dir}/\u001b[2Jx\nfake`, ["dev"], uid);
    expect(result).toMatchObject({ bound: false });
    expect(JSON.stringify(result)).toContain("\\\\x1b[2Jx\\\\nfake");
  });

  it("follows a link to a file of this user, as the path it names is what the CLI read", async () => {
    const path = await config(FEATURE);
    await symlink(path, join(dir, "link.json"));
    expect(await checkConfigBinding(join(dir, "link.json"), ["dev"], uid)).toEqual({ bound: true });
  });
});
