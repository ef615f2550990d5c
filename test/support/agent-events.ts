import type { AgentEventName, AgentEvents } from "../../src/agent/agent-events.js";
import type { AgentHandle } from "../../src/agent/agent.js";

/** Every agent event a test subscribed to, in order, with a waiter that sees past and future ones. */
export interface AgentEventLog {
  readonly history: { name: AgentEventName; event: unknown }[];
  /** Subscribes to `names` on the agent; returns nothing to undo (the agent's stop ends it). */
  attach: (agent: AgentHandle, names: readonly AgentEventName[]) => void;
  /** The first `name` event at or after history index `from` matching `pred` (past or future). */
  waitFor: <K extends AgentEventName>(
    name: K,
    pred: (event: AgentEvents[K]) => boolean,
    from?: number,
    timeoutMs?: number,
    what?: string,
  ) => Promise<AgentEvents[K]>;
}

/** `logs` and `context` go into timeout messages, so a failure shows what the agent was doing. */
export function createAgentEventLog(
  logs: readonly string[],
  context: () => string = () => "",
): AgentEventLog {
  const history: { name: AgentEventName; event: unknown }[] = [];
  const wakeups = new Set<() => void>();
  return {
    history,
    attach: (agent, names) => {
      for (const name of names) {
        agent.on(name, (event) => {
          history.push({ name, event });
          for (const wake of [...wakeups]) wake();
        });
      }
    },
    waitFor: (name, pred, from = 0, timeoutMs = 20_000, what) => {
      type Event = AgentEvents[typeof name];
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = history.slice(from).find((h) => h.name === name && pred(h.event as Event));
          if (!hit) return;
          cleanup();
          resolve(hit.event as Event);
        };
        const timer = setTimeout(() => {
          cleanup();
          const prefix = what === undefined ? "" : `${what}: `;
          reject(
            new Error(
              `${prefix}no agent event "${name}" within ${timeoutMs} ms; agent log tail:\n${logs.slice(-15).join("\n")}${context()}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          wakeups.delete(check);
        };
        wakeups.add(check);
        check();
      });
    },
  };
}
