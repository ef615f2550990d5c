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

/**
 * Podman names some container events its own way: 4.3's compat API sends `remove` where Docker
 * sends `destroy`, and its own stream says `died` for `die`. Events reach the rest of sso-docker
 * under Docker's names.
 */
const PODMAN_CONTAINER_ACTIONS: Readonly<Record<string, string>> = { died: "die", remove: "destroy" };

/** Docker's container actions with what Podman calls them, for an engine `event` filter. */
export function containerActionFilter(actions: readonly string[]): string[] {
  const podman = Object.entries(PODMAN_CONTAINER_ACTIONS)
    .filter(([, docker]) => actions.includes(docker))
    .map(([name]) => name);
  return [...actions, ...podman];
}

function actionOf(raw: RawEvent): string {
  const action = raw.Action ?? "";
  return raw.Type === "container" ? (PODMAN_CONTAINER_ACTIONS[action] ?? action) : action;
}

function toEvent(raw: RawEvent): DockerEvent {
  return {
    type: raw.Type ?? "",
    action: actionOf(raw),
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
