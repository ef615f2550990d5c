import { agentFiles } from "../../agent/agent-files.js";
import type { StatusReport } from "../../agent/status-report.js";
import { buildStatusReport } from "../../agent/status-report.js";
import { createDockerEngine, type DockerEngine } from "../../docker/engine.js";
import { describeEngineVersion } from "../../docker/engine-version.js";
import { createDeps } from "../../runtime/deps.js";
import { quoteForeign } from "../../runtime/untrusted-text.js";
import type { GlobalOptions } from "../global-options.js";

interface StatusFlags {
  json?: boolean;
  context?: string;
}

/** Which engine answers at the address status reports on. */
export interface EngineReport {
  host: string;
  /** "Docker", "Podman", …; unset when it did not answer. */
  product?: string;
  version?: string;
  /** Why it did not answer. */
  problem?: string;
}

const ENGINE_PATIENCE_MS = 3000;

/** One version request, bounded: status answers even when the engine does not. */
async function engineReport(engine: DockerEngine): Promise<EngineReport> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${ENGINE_PATIENCE_MS / 1000} s`));
    }, ENGINE_PATIENCE_MS);
  });
  try {
    const version = await Promise.race([engine.version(), late]);
    return { host: engine.host, product: version.product, version: version.version };
  } catch (error) {
    return { host: engine.host, problem: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function renderEngine(engine: EngineReport): string {
  if (engine.product === undefined) {
    const problem = engine.problem ?? "no answer";
    // The engine client's own message usually names the address already: say it once.
    return problem.includes(engine.host)
      ? `Engine: ${problem}\n\n`
      : `Engine: not reachable at ${engine.host} (${problem})\n\n`;
  }
  return `Engine: ${describeEngineVersion({ product: engine.product, version: engine.version ?? "", apiVersion: "" })} at ${engine.host}\n\n`;
}

export async function runStatus(flags: StatusFlags, globals: GlobalOptions): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const engine = createDockerEngine({
    env: deps.env,
    home: deps.paths.home,
    ...(flags.context === undefined ? {} : { context: flags.context }),
  });
  const [report, engineInfo] = await Promise.all([
    buildStatusReport(deps, agentFiles(deps.env, deps.paths.home, engine.host), engine.host),
    engineReport(engine),
  ]);
  process.stdout.write(
    flags.json === true
      ? JSON.stringify({ engine: engineInfo, ...report }, null, 2) + "\n"
      : renderEngine(engineInfo) + renderStatus(report, Date.now()),
  );
}

function relative(iso: string | undefined, now: number): string {
  if (iso === undefined || iso === "") return "-";
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const span =
    abs < 60_000
      ? `${Math.round(abs / 1000)}s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)}m`
        : `${Math.floor(abs / 3_600_000)}h${Math.round((abs % 3_600_000) / 60_000)}m`;
  return ms >= 0 ? `${iso} (in ${span})` : `${iso} (${span} ago)`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return (
    rows
      .map(
        (r) =>
          "  " +
          r
            .map((cell, i) => cell.padEnd(widths[i] ?? 0))
            .join("  ")
            .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

export function renderStatus(report: StatusReport, now: number): string {
  let out = "SSO sessions\n";
  if (report.sessions.length === 0) out += "  none (sign in with `sso-docker login`)\n";
  else
    out += table([
      ["NAME", "EXPIRES", "REFRESHABLE", "START URL"],
      ...report.sessions.map((s) => [
        s.name,
        s.problem === undefined ? relative(s.expiresAt, now) : `unreadable: ${s.problem}`,
        s.refreshable ? "yes" : "no",
        s.startUrl,
      ]),
    ]);
  const { agent } = report;
  out += agent.running
    ? `\nAgent: running (pid ${String(agent.pid)}) for ${agent.engine}${agent.started ? ` since ${agent.started}` : ""}${agent.connected === false ? ", no engine answers (trying again; remote targets are served meanwhile)" : ""}\n  log: ${agent.logFile}\n`
    : `\nAgent: not running for ${agent.engine} (start it with \`sso-docker agent --detach\`)\n`;
  return (
    out + renderContainers(report, now) + renderRefused(report.refused) + renderRemoteTargets(report, now)
  );
}

function renderContainers(report: StatusReport, now: number): string {
  if (report.containers.length === 0) return "\nNo synced containers.\n";
  const heading = report.agent.running
    ? "\nContainers\n"
    : `\nContainers (last known, ${report.containersUpdated ?? "?"})\n`;
  return (
    heading +
    table([
      ["NAME", "PROFILES", "USER", "CREDENTIALS EXPIRE", "LAST PUSH", "ERROR"],
      ...report.containers.map((c) => [
        c.name,
        c.profiles.join(","),
        c.user === "" ? "root" : c.user,
        relative(c.credentialExpiry, now),
        relative(c.lastPush, now),
        c.lastError ?? "",
      ]),
    ]) +
    renderChains(report.containers)
  );
}

/** "Role chains" and one line per chained profile in use: which role the container's credentials are. */
function renderChains(containers: StatusReport["containers"]): string {
  const chains = [...new Set(containers.flatMap((c) => c.chains ?? []))].sort();
  return chains.length === 0 ? "" : `\nRole chains\n${chains.map((c) => `  ${c}\n`).join("")}`;
}

/**
 * Attached remote targets (`sso-docker attach`), which the agent keeps supplied over ssh: what it
 * last saw of each (from its state file; nothing here connects to a target or asks a platform),
 * then why any of them is not available.
 */
function renderRemoteTargets(report: StatusReport, now: number): string {
  const remote = report.remoteTargets;
  if (remote.problem !== undefined) return `\nRemote targets: cannot read them: ${remote.problem}\n`;
  if (remote.targets.length === 0) return "";
  const heading = report.agent.running
    ? "\nRemote targets (`sso-docker detach TARGET` ends one)\n"
    : `\nRemote targets (last seen by the agent, ${report.containersUpdated ?? "never"})\n`;
  const reasons = remote.targets.flatMap(({ target, seen }) => {
    if (seen?.reason === undefined) return [];
    return [
      `  ${target}: ${seen.reason}\n`,
      ...(seen.nextTry === undefined ? [] : [`    tried again ${relative(seen.nextTry, now)}\n`]),
      ...(seen.hint === undefined ? [] : [`    next: ${seen.hint}\n`]),
    ];
  });
  return (
    heading +
    table([
      ["TARGET", "PROFILES", "USER", "STATE", "LAST PUSH", "CREDENTIALS EXPIRE"],
      ...remote.targets.map(({ target, profiles, user, seen }) => [
        target,
        profiles.join(","),
        user ?? "-",
        seen?.state ?? (report.agent.running ? "not served yet" : "-"),
        relative(seen?.lastPush, now),
        relative(seen?.credentialExpiry, now),
      ]),
    ]) +
    reasons.join("")
  );
}

/** Containers that ask for credentials this user's agent does not give them. */
function renderRefused(refused: StatusReport["refused"]): string {
  if (refused.length === 0) return "";
  return (
    "\nNot supplied (not bound to you; `sso-docker grant --help`)\n" +
    // Any container can ask for anything: its profile list is its author's text.
    table([
      ["NAME", "PROFILES", "WHY"],
      ...refused.map((c) => [c.name, quoteForeign(c.profiles.join(","), 60), c.reason]),
    ])
  );
}
