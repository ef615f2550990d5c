/** Why a container was (re)synced, for logs and tests. */
export type SyncReason = "start" | "restart" | "unpause" | "reconcile" | "refresh";

export interface AgentEvents {
  /** The engine answered and the event stream is (re)opened; a reconcile follows. */
  connected: { reconnect: boolean; at: number };
  /** The event stream ended or failed; the agent pings with backoff until the engine is back. */
  disconnected: { error: string | undefined; at: number };
  /** The first reconcile after a (re)connect is done. */
  reconciled: { containers: number; at: number };
  pushed: {
    containerId: string;
    containerName: string;
    profiles: readonly string[];
    /** Earliest expiry among the pushed credentials, epoch ms. */
    expiration: number;
    reason: SyncReason;
    at: number;
  };
  pushFailed: { containerId: string; containerName: string; error: string; at: number };
  /** The container now holds these status notes (delivery/push-notes.ts): why it gets no credentials. */
  noted: {
    containerId: string;
    containerName: string;
    notes: readonly { profile: string; text: string }[];
    at: number;
  };
  /** Inspected and found not participating: it gets nothing. */
  ignored: { containerId: string; containerName: string; at: number };
  /** It asks for credentials but is not bound to this user (binding.ts): it gets nothing. */
  refused: { containerId: string; containerName: string; reason: string; at: number };
  forgotten: { containerId: string; at: number };
  /** A refresh round fetched new credentials for one role and pushed them to its containers. */
  refreshed: { identity: string; containers: number; expiration: number; at: number };
  fetchFailed: { identity: string; error: string; retryInMs: number; at: number };
  loginStarted: { session: string; at: number };
  /** `elsewhere`: a sign-in made outside the agent (a terminal) ended the agent's own request. */
  loginFinished: { session: string; ok: boolean; elsewhere: boolean; at: number };
  /** The session's token file is gone (`sso-docker logout`): the agent waits for a sign-in, without prompting. */
  signedOut: { session: string; at: number };
  /** A remote target (remote-targets.json) got its profiles' current credentials over ssh. */
  remotePushed: { target: string; profiles: readonly string[]; expiration: number; at: number };
  /** A push to a remote target failed; it is tried again after `retryInMs`, the others go on. */
  remoteFailed: { target: string; error: string; retryInMs: number; at: number };
  /** A remote target is not available (stopped, gone, unknown): not connected to until it is. */
  remoteSkipped: { target: string; state: string; at: number };
}

export type AgentEventName = keyof AgentEvents;
export type AgentListener<K extends AgentEventName> = (event: AgentEvents[K]) => void;

/** A small typed emitter: hooks for tests and `status`, never in the way of the agent itself. */
export class AgentEmitter {
  private readonly listeners = new Map<AgentEventName, Set<(event: never) => void>>();

  on<K extends AgentEventName>(name: K, listener: AgentListener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit<K extends AgentEventName>(name: K, event: AgentEvents[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as AgentListener<K>)(event);
      } catch {
        // A faulty hook must not break the agent.
      }
    }
  }
}
