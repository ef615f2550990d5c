import type { ResolvedProfile } from "../credentials/resolve-profile.js";
import { isChainFault, outputSettings, resolveProfile } from "../credentials/resolve-profile.js";
import type { ProfileSettings } from "../delivery/profile-files.js";
import { validateProfileName } from "../delivery/profile-files.js";
import type { ContainerDetails } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import { ProfileError } from "../runtime/errors.js";
import { quoteForeign } from "../runtime/untrusted-text.js";
import type { ManagedContainer } from "./managed-container.js";
import type { Participation } from "./participation.js";
import { reasonForFailure } from "./status-note.js";
import type { Trouble } from "./supply-troubles.js";
import { messageOf } from "../runtime/message-of.js";

export function isSyncable(name: string): boolean {
  try {
    validateProfileName(name);
    return true;
  } catch {
    return false;
  }
}

// Docker's `--user`: a name or id, and optionally a group name or id.
const USER_SPEC = /^[\w.][\w.$-]*(:[\w.][\w.$-]*)?$/;

/** A container's profile names and file owner come from its author: checked before any use. */
export function checkParticipation(details: ContainerDetails, participation: Participation): void {
  for (const name of participation.profiles) {
    if (!isSyncable(name)) {
      throw new ProfileError(
        `Container ${details.name} asks for profile ${quoteForeign(name)}, which is not a profile name sso-docker can sync.`,
        {
          hint: "Use letters, digits and . _ - @ + = : , / in the profile names of its label sso-docker.profiles.",
        },
      );
    }
  }
  const { user } = participation;
  if (user !== undefined && !USER_SPEC.test(user)) {
    throw new ProfileError(
      `Container ${details.name} names the user ${quoteForeign(user)} for its credentials, which is not a user name or uid[:gid].`,
      { hint: "Fix its label sso-docker.user (a name or uid, optionally :group or :gid)." },
    );
  }
}

/**
 * "refused": one profile cannot be had for any container, so the container gets none of them;
 * otherwise the errors of the profiles whose role chain did not resolve (the others are supplied).
 */
export type ProfilesVerdict = { refused: true; error: unknown } | { refused: false; failures: unknown[] };

/** Resolves the container's profiles into `managed.resolved` and `managed.unresolved`. */
export async function resolveContainerProfiles(
  deps: Deps,
  managed: ManagedContainer,
): Promise<ProfilesVerdict> {
  // A profile whose role chain does not resolve keeps only itself from the container.
  const settled = await Promise.allSettled(
    managed.participation.profiles.map((name) => resolveProfile(deps, name, { forContainer: true })),
  );
  // Any other failure (a profile kept out of containers, one that is not there) refuses the
  // container's request as a whole: it gets none of its profiles, as before it asked for chains.
  const refusal = settled.find((r) => r.status === "rejected" && !isChainFault(r.reason));
  if (refusal?.status === "rejected") {
    managed.resolved = [];
    managed.unresolved.clear();
    return { refused: true, error: refusal.reason };
  }
  return { refused: false, failures: resolveEach(deps, managed, settled) };
}

/**
 * Keeps the profiles that resolved and, for the others, why not (since when the first failed);
 * each new reason is logged once. Returns the errors.
 */
function resolveEach(
  deps: Deps,
  managed: ManagedContainer,
  settled: PromiseSettledResult<ResolvedProfile>[],
): unknown[] {
  const { profiles } = managed.participation;
  const unresolved = new Map<string, Trouble>();
  const errors: unknown[] = [];
  managed.resolved = [];
  settled.forEach((result, i) => {
    const name = profiles[i] ?? "";
    if (result.status === "fulfilled") {
      managed.resolved.push(result.value);
      return;
    }
    errors.push(result.reason);
    const reason = reasonForFailure(result.reason);
    const before = managed.unresolved.get(name);
    unresolved.set(name, { ...reason, since: before?.since ?? deps.clock.now(), transient: false });
    const line = `container ${managed.details.name}, profile ${name}: ${messageOf(result.reason)}`;
    if (before?.why === reason.why) deps.logger.debug(line);
    else deps.logger.warn(line);
  });
  managed.unresolved = unresolved;
  return errors;
}

/** Every profile the container's config can name, with the settings a credentials push would give it. */
export function settingsOf(managed: ManagedContainer): ProfileSettings[] {
  return managed.participation.profiles.filter(isSyncable).map((name) => {
    const resolved = managed.resolved.find((r) => r.session.profileName === name);
    return { name, ...(resolved === undefined ? {} : outputSettings(resolved)) };
  });
}
