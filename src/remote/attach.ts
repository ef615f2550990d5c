import { spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { CredentialSource } from "../credentials/credential-source.js";
import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import type { RoleCredentials } from "../credentials/role-credentials.js";
import { resolveProfile } from "../credentials/resolve-profile.js";
import type { DeliveryProfile } from "../delivery/profile-files.js";
import { validateProfileName } from "../delivery/profile-files.js";
import type { Deps } from "../runtime/deps.js";
import { ProfileError } from "../runtime/errors.js";
import { isoSeconds } from "../runtime/time-format.js";
import type { RemotePushResult } from "./remote-push.js";
import { probeTarget, pushToTarget, wipeTarget } from "./remote-push.js";
import { RemoteTargetError, targetId } from "./remote-target.js";
import type { SshRoute } from "./ssh-transport.js";
import { hostKeyAlias, knownHostsFile } from "./ssh-transport.js";
import { queryState } from "./target-state.js";
import type { AttachedTarget } from "./target-store.js";
import { withTargetLock } from "./target-lock.js";
import { targetStoreFile, updateTarget } from "./target-store.js";

/** Credentials for a target's profiles, in its order: one fetch per role, shared through `source`. */
export async function deliveryProfiles(
  resolved: readonly ResolvedProfile[],
  names: readonly string[],
  obtain: (r: ResolvedProfile) => Promise<RoleCredentials>,
): Promise<DeliveryProfile[]> {
  return Promise.all(
    resolved.map(async (r, i) => {
      const { region, output } = r.profile;
      const credentials = await obtain(r);
      return {
        name: names[i] ?? "",
        ...(region === undefined ? {} : { region }),
        ...(output === undefined ? {} : { output }),
        credentials: { ...credentials, expiration: new Date(credentials.expiration) },
      };
    }),
  );
}

export async function resolveTargetProfiles(
  deps: Deps,
  names: readonly string[],
): Promise<ResolvedProfile[]> {
  if (names.length === 0) {
    throw new ProfileError("Name at least one profile to attach.", {
      hint: "sso-docker attach codespace:NAME --profile dev [--profile prod]",
    });
  }
  if (new Set(names).size !== names.length) throw new ProfileError("A profile is named twice.");
  names.forEach(validateProfileName);
  return Promise.all(names.map((name) => resolveProfile(deps, name, { forContainer: true })));
}

export interface AttachResult {
  target: AttachedTarget;
  push: RemotePushResult;
}

/**
 * Checks the target runs (never waking it), pins its host key, finds its user and tmpfs, pushes
 * the profiles' credentials once, and records it for the agent. A target already attached keeps
 * its pinned key: a changed one is refused until it is detached.
 */
export async function attachTarget(
  deps: Deps,
  route: SshRoute,
  profileNames: readonly string[],
): Promise<AttachResult> {
  const id = targetId(route);
  const resolved = await resolveTargetProfiles(deps, profileNames);
  const { state, detail } = await queryState(route, deps.env);
  if (state !== "available") {
    throw new RemoteTargetError(
      `${id} is ${state === "unknown" ? `in an unknown state (${detail ?? "no answer"})` : state}; sso-docker does not start it.`,
      { hint: `Start it with the platform's own command, then run \`sso-docker attach ${id}\` again.` },
    );
  }
  const knownHosts = knownHostsFile(deps.env, deps.paths.home);
  // ssh pins nothing, and says so only in a warning, when the file's directory is missing.
  await mkdir(dirname(knownHosts), { recursive: true, mode: 0o700 });
  const probe = await probeTarget(route, { env: deps.env, knownHosts, mode: "pin" });
  const source = new CredentialSource(deps);
  const profiles = await deliveryProfiles(resolved, profileNames, (r) => source.get(r));
  const push = await pushToTarget(route, probe, profiles, { env: deps.env, knownHosts, mode: "verify" });
  const target: AttachedTarget = {
    route,
    profiles: [...profileNames],
    probe,
    attachedAt: isoSeconds(deps.clock.now()),
  };
  await updateTarget(targetStoreFile(deps.env, deps.paths.home), id, target);
  return { target, push };
}

/**
 * Forgets the target and its pinned key; removes its credentials when it can be reached now
 * (a stopped target is not woken for it: its tmpfs empties when it stops anyway). Forgotten
 * first, so the agent starts no push to it; then the wipe waits for a push already under way.
 */
export async function detachTarget(deps: Deps, route: SshRoute): Promise<DetachResult> {
  const id = targetId(route);
  const attached = await updateTarget(targetStoreFile(deps.env, deps.paths.home), id, undefined);
  let wiped = false;
  let wipeProblem: RemoteTargetError | undefined;
  if (attached !== undefined) {
    const knownHosts = knownHostsFile(deps.env, deps.paths.home);
    try {
      await withTargetLock(deps.env, deps.paths.home, attached.route, async () => {
        if ((await queryState(attached.route, deps.env)).state !== "available") return;
        await wipeTarget(attached.route, attached.probe, { env: deps.env, knownHosts, mode: "verify" });
        wiped = true;
      });
    } catch (error) {
      // A rebuilt target answers with a new host key: it must still be detachable, or it could
      // never be re-attached; its old tmpfs went with the rebuild.
      if (!(error instanceof RemoteTargetError)) throw error;
      wipeProblem = error;
    }
  }
  forgetHostKey(deps, route);
  return { wiped, found: attached !== undefined, ...(wipeProblem === undefined ? {} : { wipeProblem }) };
}

export interface DetachResult {
  found: boolean;
  wiped: boolean;
  /** Why the credentials could not be removed (the target was forgotten all the same). */
  wipeProblem?: RemoteTargetError;
}

function forgetHostKey(deps: Deps, route: SshRoute): void {
  const file = knownHostsFile(deps.env, deps.paths.home);
  // ssh-keygen -R leaves a .old copy: that is a public key, not a secret.
  spawnSync("ssh-keygen", ["-R", hostKeyAlias(route), "-f", file], { stdio: "ignore" });
}
