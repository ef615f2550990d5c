import type { CredentialSourceOptions } from "../credentials/credential-source.js";
import { CredentialSource } from "../credentials/credential-source.js";
import { refreshDueAt } from "../credentials/refresh-timing.js";
import { finalRole } from "../credentials/resolve-profile.js";
import { supplyKey } from "../credentials/supply-key.js";
import type { DockerEngine, DockerEvent } from "../docker/engine.js";
import { createDockerEngine } from "../docker/engine.js";
import { containerActionFilter } from "../docker/event-stream.js";
import type { Deps } from "../runtime/deps.js";
import type { AgentEventName, AgentListener } from "./agent-events.js";
import { AgentEmitter } from "./agent-events.js";
import type { AgentStateFile } from "./agent-state.js";
import { isoSeconds } from "../runtime/time-format.js";
import { buildAgentState, StateWriter } from "./agent-state.js";
import type { BackoffOptions } from "./backoff.js";
import { backoffMs, forEachLimited } from "./backoff.js";
import { ContainerSyncer } from "./container-syncer.js";
import { loadGrantKey } from "./grant-key.js";
import type { ParticipationRule } from "./participation.js";
import { DEFAULT_RULES } from "./participation.js";
import { describeTally, PUSH_PATIENCE_MS, RefreshDispatcher } from "./refresh-dispatch.js";
import { RefreshScheduler } from "./refresh-scheduler.js";
import type { RemoteSupplyTuning } from "../remote/remote-supplier.js";
import { RemoteSupplier } from "../remote/remote-supplier.js";
import { readTargets, targetStoreFile } from "../remote/target-store.js";
import { formatDelay, SessionGuard } from "./session-guard.js";

export interface AgentOptions {
  /** The engine to follow; default: the one the docker CLI would use (`context`, DOCKER_HOST, …). */
  engine?: DockerEngine;
  context?: string;
  /** false = only log the sign-in URL (`--no-browser`). */
  openBrowser?: boolean;
  useDeviceCode?: boolean;
  /** Test seam: what "open a browser" does. */
  browser?: (url: string) => Promise<boolean>;
  /** Where to write the state for `sso-docker status`; none when undefined. */
  stateFile?: string;
  /** Backoff for failed credential fetches (default 1 s … 60 s). */
  retry?: BackoffOptions;
  /** Backoff for pinging a lost engine (default 500 ms … 30 s). */
  reconnect?: BackoffOptions;
  loginRetryMs?: number;
  signedOutPollMs?: number;
  /** Pushes in flight at once during a refresh round or reconcile. */
  concurrency?: number;
  rules?: readonly ParticipationRule[];
  /** The host user whose devcontainer.json files bind Dev Containers (default: this process's). */
  uid?: number;
  /** Timing of the remote targets' rounds (remote/remote-supplier.ts). */
  remote?: RemoteSupplyTuning;
  /** Test seam: GetRoleCredentials (see CredentialSourceOptions). */
  getRoleCredentials?: CredentialSourceOptions["getRoleCredentials"];
}

export interface AgentHandle {
  readonly engineHost: string;
  /**
   * Whether the engine answered at start. When not, the agent serves the attached remote
   * targets meanwhile and keeps trying the engine with backoff.
   */
  readonly engineAnswered: boolean;
  /** Attached remote targets at start; undefined when remote-targets.json cannot be read. */
  readonly remoteTargets: number | undefined;
  /**
   * Resolves after the first reconcile: every running participating container was synced once
   * (not before an engine answers).
   */
  readonly ready: Promise<void>;
  on<K extends AgentEventName>(name: K, listener: AgentListener<K>): () => void;
  snapshot(): Promise<AgentStateFile>;
  /** Stops following the engine, cancels timers and logins, writes the final state. */
  stop(): Promise<void>;
}

const CONTAINER_EVENTS = ["start", "restart", "unpause", "die", "destroy"];

/** How long the start waits for the engine's first answer before it goes on without one. */
const FIRST_CONTACT_MS = 10_000;

/** "memory: rss 104 MiB, heap 38 of 61 MiB, external 4 MiB": what the agent's cost per container comes from. */
function describeMemory(usage: NodeJS.MemoryUsage): string {
  const mib = (bytes: number) => String(Math.round(bytes / 1048576));
  return `memory: rss ${mib(usage.rss)} MiB, heap ${mib(usage.heapUsed)} of ${mib(usage.heapTotal)} MiB, external ${mib(usage.external)} MiB`;
}

/** "no remote target is attached" or "serving the 2 attached remote targets meanwhile". */
function describeRemoteWork(targets: number | undefined): string {
  if (targets === undefined) return "remote-targets.json cannot be read (its own warning says why)";
  return targets === 0
    ? "no remote target is attached (`sso-docker attach codespace:NAME --profile …`), so nothing is supplied until it answers"
    : `serving the ${String(targets)} attached remote target(s) meanwhile`;
}

/**
 * Starts the agent: serves the attached remote targets (over ssh, no engine needed), follows
 * the engine's events and syncs every running participating container, until `stop()`. An
 * engine that does not answer is tried again with backoff and followed once it does.
 */
export async function startAgent(deps: Deps, options: AgentOptions = {}): Promise<AgentHandle> {
  const engine =
    options.engine ??
    createDockerEngine({
      env: deps.env,
      home: deps.paths.home,
      ...(options.context === undefined ? {} : { context: options.context }),
    });
  const grantKey = await loadGrantKey(deps.env, deps.paths.home);
  // Load the AWS SDK and file-lock modules now rather than when the first container starts,
  // so its first push is not slowed by module loading (about 100 ms).
  void Promise.all([import("@aws-sdk/client-sso"), import("proper-lockfile")]).catch(() => undefined);
  const { logger, clock } = deps;
  const controller = new AbortController();
  const signal = controller.signal;
  // A function, not a property read, so the compiler does not assume it stays false in loops.
  const stopping = () => signal.aborted;
  const emitter = new AgentEmitter();
  // No AWS CLI cache: a cached file does not say when its credentials were issued, and rounds
  // are timed from the lifetime, which only a fetch of our own tells (refresh-timing.ts).
  const source = new CredentialSource(deps, {
    useCliCache: false,
    ...(options.getRoleCredentials ? { getRoleCredentials: options.getRoleCredentials } : {}),
  });
  const started = clock.now();
  let connected = false;
  // snapshot() is hoisted; it only reads the parts below once the first change is reported.
  const writer =
    options.stateFile === undefined
      ? undefined
      : new StateWriter(options.stateFile, snapshot, (err) => {
          logger.warn(`cannot write ${options.stateFile ?? ""}: ${(err as Error).message}`);
        });
  const onChange = () => writer?.changed();
  const guard = new SessionGuard({
    deps,
    source,
    emitter,
    signal,
    retry: options.retry ?? { baseMs: 1000, maxMs: 60_000 },
    loginRetryMs: options.loginRetryMs ?? 5 * 60_000,
    signedOutPollMs: options.signedOutPollMs ?? 5000,
    login: {
      openBrowser: options.openBrowser ?? true,
      useDeviceCode: options.useDeviceCode ?? false,
      ...(options.browser ? { browser: options.browser } : {}),
    },
    onChange,
    // Back from a sign-out: push to their containers now, not at their next refresh.
    onSignedIn: (identities) => {
      for (const key of identities) scheduler.runAt(key, clock.now());
    },
    onSupply: (report) => {
      syncer.onSupply(report);
    },
  });
  const concurrency = options.concurrency ?? 8;
  // A push still running after this frees its slot in a round or reconcile (see PUSH_PATIENCE_MS).
  const patience = { ms: PUSH_PATIENCE_MS, clock };
  const scheduler = new RefreshScheduler(clock, signal, (key) => refreshRound(key));
  const syncer = new ContainerSyncer({
    deps,
    engine,
    guard,
    emitter,
    signal,
    rules: options.rules ?? DEFAULT_RULES,
    grantKey,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    scheduleRefresh: (key, dueAt) => {
      scheduler.ensure(key, dueAt);
    },
    retryFetch: (key) => {
      scheduler.runAt(key, clock.now() + (options.retry?.baseMs ?? 1000));
    },
    onChange,
  });
  const remote = new RemoteSupplier({
    deps,
    obtain: (resolved) => guard.obtain(resolved, { signal, persistent: true }),
    emitter,
    signal,
    onChange,
    ...options.remote,
  });
  const dispatcher = new RefreshDispatcher({
    push: (managed, reason, want) => syncer.push(managed, reason, want),
    concurrency,
    clock,
    signal,
  });

  /**
   * One fetch for the identity, the next round armed at once, then a push to each of its
   * containers that lacks the credentials. The round ends there: its pushes go on (each within
   * the exec time limit), so a stuck container never delays the next round, and the
   * `refreshed` event follows once they have ended.
   */
  async function refreshRound(key: string): Promise<void> {
    const first = syncer.usersOf(key)[0];
    const resolved = first?.resolved.find((r) => supplyKey(r) === key);
    if (!resolved) return; // nobody uses it any more: let the timer lapse
    try {
      const credentials = await guard.obtain(resolved, { signal, persistent: true });
      scheduler.rearm(key, refreshDueAt(credentials));
      const users = syncer.usersOf(key);
      const { roleName, accountId } = finalRole(resolved);
      const role = `${roleName}@${accountId}`;
      logger.info(
        `refreshed ${role} (expires ${isoSeconds(credentials.expiration)}); pushing to ${users.length} container(s)`,
      );
      const want = { identity: key, accessKeyId: credentials.accessKeyId };
      void dispatcher.dispatch(want, users).then((tally) => {
        if (signal.aborted) return;
        const troubled = tally.failed.length + tally.busy.length > 0;
        logger[troubled ? "info" : "debug"](`refresh of ${role}: ${describeTally(tally)}`);
        logger.debug(describeMemory(process.memoryUsage()));
        emitter.emit("refreshed", {
          identity: key,
          containers: users.length,
          expiration: credentials.expiration,
          at: clock.now(),
        });
      });
    } catch (err) {
      if (signal.aborted) return;
      // Never leave an identity that containers still use without a next round.
      const retryMs = options.retry?.maxMs ?? 60_000;
      logger.warn(
        `refresh of ${key} failed: ${(err as Error).message}; trying again in ${formatDelay(retryMs)}`,
      );
      scheduler.runAt(key, clock.now() + retryMs);
    }
  }

  function onEvent(event: DockerEvent, lastAction: Map<string, string>): void {
    if (event.type !== "container" || event.id === "") return;
    const previous = lastAction.get(event.id);
    lastAction.set(event.id, event.action);
    switch (event.action) {
      case "start":
      case "unpause":
        void syncer.request(event.id, event.action);
        break;
      case "restart":
        // `docker restart` emits start just before restart; that start already synced it.
        if (previous !== "start") void syncer.request(event.id, "restart");
        break;
      case "die":
      case "destroy":
        syncer.forget(event.id, event.action === "destroy");
        if (event.action === "destroy") lastAction.delete(event.id);
        break;
    }
  }

  /** Syncs every running container again (tmpfs may have been emptied) and forgets the gone. */
  async function reconcile(): Promise<void> {
    const running = await engine.listContainers();
    const ids = new Set(running.map((c) => c.id));
    for (const id of [...syncer.containers.keys(), ...syncer.refused.keys()])
      if (!ids.has(id)) syncer.forget(id);
    await forEachLimited(running, concurrency, (c) => syncer.request(c.id, "reconcile"), { patience });
    emitter.emit("reconciled", { containers: syncer.containers.size, at: clock.now() });
  }

  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let contact: (answered: boolean) => void = () => undefined;
  const firstContact = new Promise<boolean>((resolve) => (contact = resolve));
  const attachedTargets = readTargets(targetStoreFile(deps.env, deps.paths.home)).then(
    (targets) => targets.length,
    () => undefined,
  );

  async function follow(): Promise<void> {
    const lastAction = new Map<string, string>();
    const reconnect = options.reconnect ?? { baseMs: 500, maxMs: 30_000 };
    let since: number | undefined; // engine clock, from the last event: replays what a break missed
    let everConnected = false;
    for (let attempt = 0, first = true; !signal.aborted; first = false) {
      try {
        if (!first) await engine.ping();
        let opened: () => void = () => undefined;
        const open = new Promise<void>((resolve) => (opened = resolve));
        const events = engine.events({
          filters: { type: ["container"], event: containerActionFilter(CONTAINER_EVENTS) },
          signal,
          onOpen: () => {
            opened();
          },
          ...(since === undefined ? {} : { since }),
        });
        const iterator = events[Symbol.asyncIterator]();
        let next = iterator.next();
        // List only once the engine has the subscription, so no start falls between the two
        // (over ssh each request is its own connection, and the listing could win the race).
        await Promise.race([open, next]);
        connected = true;
        attempt = 0;
        contact(true);
        if (first) logger.info(`agent following the Docker engine at ${engine.host} (pid ${process.pid})`);
        else if (!everConnected)
          logger.info(
            `the Docker engine at ${engine.host} answers now; following it and syncing its containers`,
          );
        else logger.info(`reconnected to the Docker engine at ${engine.host}; resyncing containers`);
        emitter.emit("connected", { reconnect: everConnected, at: clock.now() });
        everConnected = true;
        onChange();
        reconcile().then(markReady, (err: unknown) => {
          logger.warn(`listing containers on ${engine.host} failed: ${(err as Error).message}`);
        });
        const seenUpTo = since ?? -Infinity;
        for (let item = await next; !item.done; item = await next) {
          // The replay starts at a whole second: skip what the previous stream already delivered.
          if (item.value.time > seenUpTo) {
            since = item.value.time;
            onEvent(item.value, lastAction);
          }
          next = iterator.next();
        }
        if (stopping()) break;
        throw new Error("the engine closed the event stream");
      } catch (err) {
        if (stopping()) break;
        const delay = backoffMs(attempt++, reconnect);
        const message = (err as Error).message;
        if (!everConnected && first) {
          // Said once: a laptop with no Docker at all still has its remote targets served.
          logger.warn(
            `agent started (pid ${process.pid}), but no Docker engine answers at ${engine.host} (${message}); ${describeRemoteWork(await attachedTargets)}. Trying the engine again with backoff (next in ${formatDelay(delay)}, then up to every ${formatDelay(reconnect.maxMs)}).`,
          );
          emitter.emit("disconnected", { error: message, at: clock.now() });
          contact(false);
        } else if (connected) {
          logger.warn(
            `lost the Docker engine at ${engine.host} (${message}); reconnecting, next try in ${formatDelay(delay)}`,
          );
          emitter.emit("disconnected", { error: message, at: clock.now() });
        } else {
          logger.debug(
            `the Docker engine at ${engine.host} is still away; next try in ${formatDelay(delay)}`,
          );
        }
        connected = false;
        onChange();
        await clock.sleep(delay, signal).catch(() => undefined);
      }
    }
  }

  function snapshot(): Promise<AgentStateFile> {
    return buildAgentState({
      deps,
      engineHost: engine.host,
      started,
      connected,
      stopped: signal.aborted,
      containers: syncer.containers.values(),
      refused: syncer.refused.values(),
      activity: guard.activity,
      remoteTargets: remote.states(),
    });
  }

  const following = follow();
  const supplyingRemote = remote.run();
  onChange();
  // The start reports whether the engine answered; an engine that hangs does not hold it.
  let timer: NodeJS.Timeout | undefined;
  const engineAnswered = await Promise.race([
    firstContact,
    new Promise<boolean>((resolve) => (timer = setTimeout(resolve, FIRST_CONTACT_MS, false))),
  ]);
  clearTimeout(timer);

  return {
    engineHost: engine.host,
    engineAnswered,
    remoteTargets: await attachedTargets,
    ready,
    on: (name, listener) => emitter.on(name, listener),
    snapshot,
    async stop() {
      if (!signal.aborted) controller.abort(new Error("the agent is stopping"));
      await following;
      await supplyingRemote;
      connected = false;
      await writer?.flush();
      logger.info("agent stopped");
    },
  };
}
