import { describe, expect, it } from "vitest";
import type { ContainerSpec, ReadFileOptions } from "../docker/engine.js";
import { DockerError } from "../runtime/errors.js";
import { fakeEngine } from "../../test/support/fake-engine.js";
import { imageFilesEngine } from "../../test/support/image-files-engine.js";
import { FeatureImageReader, MAX_FEATURE_FILE_BYTES, READER_LABEL } from "./feature-image.js";

const PROFILES = "/etc/sso-docker/profiles";
const USER = "/etc/sso-docker/user";
const image = (n: number) => `sha256:${String(n).padStart(64, "0")}`;
const feature = { [PROFILES]: "dev\n", [USER]: "dev\n" };

function creates(calls: readonly string[]): number {
  return calls.filter((c) => c.startsWith("create ")).length;
}

describe("FeatureImageReader", () => {
  it("reads an image once, in a labelled never-started container it removes, then answers from memory", async () => {
    const specs: ContainerSpec[] = [];
    const reads: [string, ReadFileOptions][] = [];
    const removed: string[] = [];
    const engine = fakeEngine({
      createContainer: (spec) => {
        specs.push(spec);
        return Promise.resolve("reader");
      },
      readFile: (_id, path, options) => {
        reads.push([path, options]);
        return Promise.resolve(path === PROFILES ? Buffer.from("a\nb\n") : undefined);
      },
      removeContainer: (id) => {
        removed.push(id);
        return Promise.resolve();
      },
    });
    const reader = new FeatureImageReader(engine);
    const first = await reader.read(image(1));
    expect(first).toEqual({ profiles: "a\nb\n", user: undefined });
    expect(await reader.read(image(1))).toBe(first);
    expect(specs).toEqual([{ image: image(1), labels: { [READER_LABEL]: "feature-files" } }]);
    expect(reads.map(([path, options]) => [path, options.maxBytes])).toEqual([
      [PROFILES, MAX_FEATURE_FILE_BYTES],
      [USER, MAX_FEATURE_FILE_BYTES],
    ]);
    expect(reads.every(([, options]) => options.signal instanceof AbortSignal)).toBe(true);
    expect(removed).toEqual(["reader"]);
  });

  it("shares one read between concurrent lookups of one image (two containers starting at once)", async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const engine = imageFilesEngine({ [image(1)]: feature, [image(2)]: feature }, { gate });
    const reader = new FeatureImageReader(engine);
    const lookups = [reader.read(image(1)), reader.read(image(1)), reader.read(image(2))];
    open();
    const [a, b, c] = await Promise.all(lookups);
    expect(a).toBe(b);
    expect(c).toEqual(a);
    expect(engine.calls.filter((call) => call.startsWith("create "))).toEqual([
      `create ${image(1)}`,
      `create ${image(2)}`,
    ]);
    expect(engine.live.size).toBe(0);
  });

  it("does not remember a failure, and removes the container it made whatever happened", async () => {
    const files: Record<string, string | Error> = {
      [PROFILES]: new DockerError("engine hiccup."),
      [USER]: "",
    };
    const engine = imageFilesEngine({ [image(1)]: files });
    const reader = new FeatureImageReader(engine);
    await expect(reader.read(image(1))).rejects.toThrow("engine hiccup.");
    expect(engine.live.size).toBe(0);
    files[PROFILES] = "dev\n";
    expect((await reader.read(image(1))).profiles).toBe("dev\n");
    expect(creates(engine.calls)).toBe(2);
    expect(engine.live.size).toBe(0);
  });

  it("remembers an image without the files: that is what the image holds, not a failure", async () => {
    const engine = imageFilesEngine({ [image(1)]: {} });
    const reader = new FeatureImageReader(engine);
    expect(await reader.read(image(1))).toEqual({ profiles: undefined, user: undefined });
    await reader.read(image(1));
    expect(creates(engine.calls)).toBe(1);
  });

  it("keeps at most `capacity` images, dropping the least recently used", async () => {
    const engine = imageFilesEngine({ [image(1)]: feature, [image(2)]: feature, [image(3)]: feature });
    const reader = new FeatureImageReader(engine, { capacity: 2 });
    await reader.read(image(1));
    await reader.read(image(2));
    await reader.read(image(1)); // 1 is now the most recent
    await reader.read(image(3)); // drops 2
    expect(creates(engine.calls)).toBe(3);
    await reader.read(image(1));
    await reader.read(image(3));
    expect(creates(engine.calls)).toBe(3);
    await reader.read(image(2));
    expect(creates(engine.calls)).toBe(4);
  });

  it("gives up on an engine that does not answer, saying so, and still removes the container", async () => {
    const removed: string[] = [];
    const engine = fakeEngine({
      createContainer: () => Promise.resolve("reader"),
      readFile: (_id, _path, options) =>
        new Promise((_resolve, reject) => {
          options.signal?.addEventListener("abort", () => {
            reject(options.signal?.reason as Error);
          });
        }),
      removeContainer: (id) => {
        removed.push(id);
        return Promise.resolve();
      },
    });
    const reader = new FeatureImageReader(engine, { timeoutMs: 50 });
    await expect(reader.read(image(1))).rejects.toThrow(
      "Reading the sso-docker Feature's files took the engine at unix:///fake.sock over 0.05 s.",
    );
    expect(removed).toEqual(["reader"]);
  });
});
