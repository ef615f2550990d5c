import type { DockerEngine } from "../../src/docker/engine.js";

/**
 * A DockerEngine for unit tests: every call rejects ("not used") unless given. Behaviour against
 * a real engine is tested in test/*.test.ts.
 */
export function fakeEngine(given: Partial<DockerEngine> = {}): DockerEngine {
  const unused = () => Promise.reject(new Error("not used"));
  return {
    host: "unix:///fake.sock",
    ping: unused,
    version: unused,
    inspectContainer: unused,
    inspectImage: unused,
    listContainers: unused,
    inspectVolume: unused,
    createVolume: unused,
    removeVolume: unused,
    createContainer: unused,
    removeContainer: unused,
    pathExists: unused,
    putArchive: unused,
    readFile: unused,
    events: () => ({ [Symbol.asyncIterator]: () => ({ next: unused }) }),
    exec: unused,
    ...given,
  };
}
