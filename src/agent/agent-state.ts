import { readFile } from "node:fs/promises";
import { isRefreshable } from "../auth/access-token.js";
import { writeFileAtomically } from "../aws-files/cache-files.js";
import { readSsoToken, tokenCachePath } from "../aws-files/token-cache.js";
import { describeChain } from "../credentials/resolve-profile.js";
import type { RemoteTargetState } from "../remote/target-status.js";
import type { Deps } from "../runtime/deps.js";
import { isoSeconds, parseTimestamp } from "../runtime/time-format.js";
import type { ManagedContainer } from "./managed-container.js";
import type { SessionActivity } from "./session-guard.js";
import { sessionKey } from "./session-guard.js";

/**
 * The agent's state file, read by `sso-docker status`. Names, times and error messages only:
 * never a key, token or anything from a credentials file.
 */
export interface AgentStateFile {
  version: 1;
  pid: number;
  /** Engine address, e.g. unix:///var/run/docker.sock. */
  engine: string;
  started: string;
  updated: string;
  /** Set when the agent stopped cleanly. */
  stopped?: string;
  /** Whether the engine's event stream is open right now (false while no engine answers). */
  connected: boolean;
  sessions: SessionState[];
  containers: ContainerState[];
  /** Running containers that ask for credentials but get none from this user's agent. */
  refused?: RefusedState[];
  /** Attached remote targets (`sso-docker attach`) as the agent last saw them. */
  remoteTargets?: RemoteTargetState[];
}

export interface SessionState {
  /** sso-session name, or the start URL for legacy profiles. */
  name: string;
  startUrl: string;
  /** Token expiry; absent when there is no token file (signed out). */
  expiresAt?: string;
  refreshable: boolean;
  signedIn: boolean;
  loginPending: boolean;
}

export interface ContainerState {
  id: string;
  name: string;
  profiles: string[];
  /** Owner of the pushed files: the `sso-docker.user` label, else the container's user ("" = root). */
  user: string;
  /** Earliest expiry of the pushed credentials. */
  credentialExpiry?: string;
  /** ISO time with milliseconds. */
  lastPush?: string;
  lastError?: string;
  /** The profiles that assume a role, each as "app ← sso-base (AssumeRole arn:…)". */
  chains?: string[];
}

export interface RefusedState {
  id: string;
  name: string;
  profiles: string[];
  /** Why it is not supplied, e.g. "not granted". */
  reason: string;
}

/** What the agent knows, as the state file holds it: sessions of the synced profiles, containers. */
export async function buildAgentState(input: {
  deps: Deps;
  engineHost: string;
  started: number;
  connected: boolean;
  stopped: boolean;
  containers: Iterable<ManagedContainer>;
  refused?: Iterable<RefusedState>;
  activity: ReadonlyMap<string, SessionActivity>;
  remoteTargets?: RemoteTargetState[];
}): Promise<AgentStateFile> {
  const { deps } = input;
  const now = deps.clock.now();
  const containers = [...input.containers];
  const sessions = new Map<string, SessionState>();
  for (const { session } of containers.flatMap((m) => m.resolved)) {
    const key = sessionKey(session);
    if (sessions.has(key)) continue;
    const path = tokenCachePath(deps.paths.ssoCacheDir, session);
    const token = await readSsoToken(path).catch(() => undefined);
    sessions.set(key, {
      name: session.sessionName ?? session.startUrl,
      startUrl: session.startUrl,
      ...(token ? { expiresAt: isoSeconds(parseTimestamp(token.expiresAt) ?? 0) } : {}),
      refreshable: token ? isRefreshable(token, now) : false,
      signedIn: token !== undefined,
      loginPending: input.activity.get(key)?.loginPending ?? false,
    });
  }
  return {
    version: 1,
    pid: process.pid,
    engine: input.engineHost,
    started: isoSeconds(input.started),
    updated: isoSeconds(now),
    ...(input.stopped ? { stopped: isoSeconds(now) } : {}),
    connected: input.connected,
    sessions: [...sessions.values()],
    containers: containers.map((m) => ({
      id: m.details.id,
      name: m.details.name,
      profiles: m.participation.profiles,
      user: m.participation.user ?? m.details.user,
      ...(m.credentialExpiry === undefined ? {} : { credentialExpiry: isoSeconds(m.credentialExpiry) }),
      // Milliseconds kept: a refresh round over many containers lasts about a second.
      ...(m.lastPush === undefined ? {} : { lastPush: new Date(m.lastPush).toISOString() }),
      ...(m.lastError === undefined ? {} : { lastError: m.lastError }),
      ...chainsOf(m),
    })),
    refused: [...(input.refused ?? [])],
    remoteTargets: input.remoteTargets ?? [],
  };
}

export async function readAgentState(path: string): Promise<AgentStateFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<AgentStateFile>;
    return value.version === 1 && Array.isArray(value.containers) ? (value as AgentStateFile) : undefined;
  } catch {
    return undefined; // a state file is a convenience: a broken one reads as none
  }
}

/**
 * Writes the state file atomically (0600) whenever something changed, never two writes at
 * once: changes during a write cause exactly one more write after it.
 */
export class StateWriter {
  private writing: Promise<void> | undefined;
  private dirty = false;

  constructor(
    private readonly path: string,
    private readonly build: () => Promise<AgentStateFile>,
    private readonly onError: (err: unknown) => void,
  ) {}

  changed(): void {
    if (this.writing) {
      this.dirty = true;
      return;
    }
    this.writing = this.loop().finally(() => {
      this.writing = undefined;
    });
  }

  /** Waits for pending writes, then writes once more. */
  async flush(): Promise<void> {
    await this.writing;
    await this.writeOnce();
  }

  private async loop(): Promise<void> {
    let again = true;
    while (again) {
      this.dirty = false;
      await this.writeOnce();
      again = this.dirty; // set by changed() while we were writing
    }
  }

  private async writeOnce(): Promise<void> {
    try {
      const state = await this.build();
      await writeFileAtomically(this.path, JSON.stringify(state, null, 2) + "\n", 0o600);
    } catch (err) {
      this.onError(err);
    }
  }
}

function chainsOf(m: ManagedContainer): { chains?: string[] } {
  const chains = m.resolved.flatMap((r) => describeChain(r) ?? []);
  return chains.length === 0 ? {} : { chains };
}
