import { join } from "node:path";
import { agentStateDir } from "../agent/agent-files.js";
import { readJsonFile, withCacheLock, writeFileAtomically } from "../aws-files/cache-files.js";
import type { Env } from "../runtime/env.js";
import type { TargetProbe } from "./remote-push.js";
import { parseTarget, RemoteTargetError, targetId } from "./remote-target.js";
import type { SshRoute } from "./ssh-transport.js";

/** One attached target: what the agent needs to keep it supplied. Names only, never a secret. */
export interface AttachedTarget {
  route: SshRoute;
  profiles: string[];
  probe: TargetProbe;
  attachedAt: string;
}

interface StoredTarget {
  target: string;
  user?: string;
  identityFile?: string;
  profiles: string[];
  probe: TargetProbe;
  attachedAt: string;
}

/** `~/.sso-docker/remote-targets.json`, 0600: read by every agent start, so attachments outlive it. */
export function targetStoreFile(env: Env, home: string): string {
  return join(agentStateDir(env, home), "remote-targets.json");
}

export async function readTargets(file: string): Promise<AttachedTarget[]> {
  const read = await readJsonFile(file);
  if (read.kind === "missing") return [];
  const list = read.kind === "json" ? (read.value as { targets?: unknown }).targets : undefined;
  if (!Array.isArray(list)) {
    throw new RemoteTargetError(
      `${file} ${read.kind === "corrupt" ? read.problem : "is not a target list"}.`,
      {
        hint: `Remove it and attach again: \`rm ${file}\`, then \`sso-docker attach TARGET --profile …\`.`,
      },
    );
  }
  return (list as StoredTarget[]).map((stored) => ({
    route: {
      ...parseTarget(stored.target),
      ...(stored.user === undefined ? {} : { user: stored.user }),
      ...(stored.identityFile === undefined ? {} : { identityFile: stored.identityFile }),
    },
    profiles: stored.profiles,
    probe: stored.probe,
    attachedAt: stored.attachedAt,
  }));
}

/** Replaces (or with `undefined`, removes) one target's entry; returns the entry it replaced. */
export async function updateTarget(
  file: string,
  id: string,
  entry: AttachedTarget | undefined,
): Promise<AttachedTarget | undefined> {
  return withCacheLock(file, async () => {
    const targets = await readTargets(file);
    const previous = targets.find((t) => targetId(t.route) === id);
    const kept = targets.filter((t) => targetId(t.route) !== id);
    if (entry !== undefined) kept.push(entry);
    await writeTargets(file, kept);
    return previous;
  });
}

async function writeTargets(file: string, targets: readonly AttachedTarget[]): Promise<void> {
  const stored: StoredTarget[] = targets.map(({ route, profiles, probe, attachedAt }) => ({
    target: targetId(route),
    ...(route.user === undefined ? {} : { user: route.user }),
    ...(route.identityFile === undefined ? {} : { identityFile: route.identityFile }),
    profiles,
    probe,
    attachedAt,
  }));
  await writeFileAtomically(file, `${JSON.stringify({ version: 1, targets: stored }, null, 2)}\n`, 0o600);
}
