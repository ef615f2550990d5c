import Docker from "dockerode";
import { beforeAll, describe, expect, it } from "vitest";
import {
  runInImage,
  startContainer,
  sweepTestContainers,
  sweepTestContainersAfterAll,
  TEST_LABEL,
  testRunId,
  waitForDockerEvent,
} from "./docker.js";
import { ensureTestImages, IMAGE_BUILD_TIMEOUT_MS } from "./images.js";

sweepTestContainersAfterAll();

let busybox: string;
beforeAll(async () => {
  ({ busybox } = await ensureTestImages());
}, IMAGE_BUILD_TIMEOUT_MS);

describe("test container helpers", () => {
  it("runs a command to completion with stdin, user and env", async () => {
    const result = await runInImage(busybox, ["sh", "-c", 'echo "$(id -u) $GREETING $(cat)"; exit 3'], {
      user: "dev",
      env: { GREETING: "hello" },
      input: "from stdin",
    });
    expect(result).toEqual({ stdout: "1000 hello from stdin", stderr: "", exitCode: 3 });
  });

  it("labels containers, sees their death as an event, and sweeps them", async () => {
    const container = await startContainer(busybox);
    const labels = (await new Docker().getContainer(container.id).inspect()).Config.Labels;
    expect(labels[TEST_LABEL]).toBe(testRunId);
    expect((await container.exec(["sh", "-c", "cat"], { input: "ping" })).stdout).toBe("ping");

    const since = new Date();
    await container.exec(["kill", "1"]);
    const died = await waitForDockerEvent(
      { type: ["container"], event: ["die"], container: [container.id] },
      { since },
    );
    expect(died.Actor.Attributes.exitCode).toBe("0");

    expect(await sweepTestContainers()).toContain(container.id);
    expect(await sweepTestContainers()).toEqual([]);
  });

  it("rejects when no event comes in time", async () => {
    const container = await startContainer(busybox);
    await expect(
      waitForDockerEvent(
        { event: ["die"], container: [container.id] },
        { since: new Date(), timeoutMs: 300 },
      ),
    ).rejects.toThrow(/no docker event/);
  });
});
