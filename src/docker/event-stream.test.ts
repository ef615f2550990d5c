import { describe, expect, it } from "vitest";
import { containerActionFilter, parseEventStream, type DockerEvent } from "./event-stream.js";

async function collect(chunks: string[]): Promise<DockerEvent[]> {
  const events: DockerEvent[] = [];
  for await (const event of parseEventStream(chunks.map((c) => Buffer.from(c)))) events.push(event);
  return events;
}

describe("parseEventStream", () => {
  it("rebuilds lines split across chunks and several lines in one chunk", async () => {
    const start = JSON.stringify({
      Type: "container",
      Action: "start",
      Actor: { ID: "abc", Attributes: { "sso-docker.profiles": "dev" } },
      time: 1700000000,
      timeNano: 1700000000123456000,
    });
    const die = JSON.stringify({ Type: "container", Action: "die", Actor: { ID: "abc" }, time: 1700000001 });
    const text = `${start}\n${die}\n`;
    const events = await collect([
      text.slice(0, 10),
      text.slice(10, start.length + 5),
      text.slice(start.length + 5),
    ]);
    expect(events).toEqual([
      {
        type: "container",
        action: "start",
        id: "abc",
        attributes: { "sso-docker.profiles": "dev" },
        time: 1700000000123,
      },
      { type: "container", action: "die", id: "abc", attributes: {}, time: 1700000001000 },
    ]);
  });

  it("gives Podman's container events Docker's names (died, remove), and no other type's", async () => {
    const line = (Type: string, Action: string) =>
      JSON.stringify({ Type, Action, Actor: { ID: "abc" }, time: 1 }) + "\n";
    const events = await collect([
      line("container", "died"),
      line("container", "remove"),
      line("container", "die"),
      line("volume", "remove"),
    ]);
    expect(events.map((e) => `${e.type} ${e.action}`)).toEqual([
      "container die",
      "container destroy",
      "container die",
      "volume remove",
    ]);
  });
});

describe("containerActionFilter", () => {
  it("adds Podman's names for the Docker actions asked for", () => {
    expect(containerActionFilter(["start", "die", "destroy"])).toEqual([
      "start",
      "die",
      "destroy",
      "died",
      "remove",
    ]);
    expect(containerActionFilter(["start"])).toEqual(["start"]);
  });
});
