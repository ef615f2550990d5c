/** One engine event, trimmed to what sso-docker uses. */
export interface DockerEvent {
  type: string;
  action: string;
  /** Container id (or other object id) the event is about. */
  id: string;
  attributes: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch. */
  time: number;
}

interface RawEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

function toEvent(raw: RawEvent): DockerEvent {
  return {
    type: raw.Type ?? "",
    action: raw.Action ?? "",
    id: raw.Actor?.ID ?? "",
    attributes: raw.Actor?.Attributes ?? {},
    time: raw.timeNano === undefined ? (raw.time ?? 0) * 1000 : Math.floor(raw.timeNano / 1e6),
  };
}

/** The engine sends one JSON object per line; chunks may split or join lines. */
export async function* parseEventStream(
  stream: AsyncIterable<Buffer> | Iterable<Buffer>,
): AsyncGenerator<DockerEvent> {
  let pending = "";
  for await (const chunk of stream) {
    pending += chunk.toString("utf8");
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line !== "") yield toEvent(JSON.parse(line) as RawEvent);
    }
  }
}
