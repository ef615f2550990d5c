import type { ContainerSpec, DockerEngine, ReadFileOptions } from "../../src/docker/engine.js";
import { fakeEngine } from "./fake-engine.js";

/** What one image holds, by path; an Error is what reading that path rejects with. */
export type ImageFiles = Readonly<Record<string, string | Error>>;

export interface ImageFilesEngine extends DockerEngine {
  /** Every call, in order: "create IMAGE", "read ID PATH", "remove ID". */
  readonly calls: string[];
  /** Containers created and not removed. */
  readonly live: Set<string>;
}

/**
 * A unit-test engine whose images hold the given files: never-started containers can be
 * created from them, read through `readFile` and removed, each call recorded. `gate`, when
 * given, holds every read until it resolves (to see concurrent lookups share one).
 */
export function imageFilesEngine(
  images: Readonly<Record<string, ImageFiles>>,
  options: { gate?: Promise<void> } = {},
): ImageFilesEngine {
  const calls: string[] = [];
  const live = new Set<string>();
  const imageOf = new Map<string, string>();
  let next = 0;
  const engine = fakeEngine({
    createContainer: (spec: ContainerSpec) => {
      calls.push(`create ${spec.image}`);
      if (images[spec.image] === undefined) {
        return Promise.reject(Object.assign(new Error(`No such image: ${spec.image}`), { statusCode: 404 }));
      }
      const id = `reader-${String(++next)}`;
      imageOf.set(id, spec.image);
      live.add(id);
      return Promise.resolve(id);
    },
    readFile: async (id: string, path: string, _options: ReadFileOptions) => {
      calls.push(`read ${id} ${path}`);
      await options.gate;
      const content = images[imageOf.get(id) ?? ""]?.[path];
      if (content instanceof Error) throw content;
      return content === undefined ? undefined : Buffer.from(content);
    },
    removeContainer: (id: string) => {
      calls.push(`remove ${id}`);
      live.delete(id);
      return Promise.resolve();
    },
  });
  return Object.assign(engine, { calls, live });
}
