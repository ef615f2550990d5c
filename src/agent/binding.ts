import type { ContainerDetails } from "../docker/engine.js";
import { quoteForeign } from "../runtime/untrusted-text.js";
import { checkConfigBinding, CONFIG_FILE_LABEL } from "./devcontainer-config.js";
import { GRANT_ENV, GRANT_LABEL, verifyGrant } from "./grant.js";
import type { Participation } from "./participation.js";

/**
 * Whether a participating container is bound to this agent's user, so that this agent (and
 * nobody else's) supplies it. Decided from the container's config alone, which code inside it
 * cannot change: a grant of this user for exactly the profiles it asks for (`sso-docker run`
 * adds one, `sso-docker grant` prints one for compose and plain `docker run`), else the
 * devcontainer.json it was made from, when that is this user's and gives the sso-docker
 * Feature those profiles.
 */
export type Binding =
  | { bound: true; via: "grant" | "devcontainer.json" }
  | {
      bound: false;
      /** How loud: another user's container is none of this agent's business. */
      level: "debug" | "info" | "warn";
      /** A log line naming the container and what to do. */
      message: string;
      /** A few words for `sso-docker status`. */
      status: string;
    };

/** The grant beside the profiles: from the same place first (label or env), else the other. */
export function grantOf(
  container: Pick<ContainerDetails, "labels" | "env">,
  source: string,
): string | undefined {
  const label = container.labels[GRANT_LABEL];
  const env = container.env[GRANT_ENV];
  return source === "env" ? (env ?? label) : (label ?? env);
}

// Names a shell takes as one word, so the hint can be pasted.
const PLAIN_NAME = /^[\w.@+=:/-]+$/;

function grantHint(profiles: readonly string[]): string {
  const flags = profiles.every((p) => PLAIN_NAME.test(p))
    ? profiles.map((p) => `--profile ${p}`).join(" ")
    : "--profile NAME";
  return `create it with \`docker run $(sso-docker grant ${flags}) …\` (compose: the labels \`sso-docker grant ${flags}\` prints)`;
}

/**
 * `profiles` undefined: a Feature container whose profiles were not read (logout only asks
 * whose it is). `uid`: the agent's user, who must own a devcontainer.json that binds.
 */
export async function checkBinding(
  container: Pick<ContainerDetails, "name" | "labels" | "env">,
  participation: Pick<Participation, "profiles" | "source"> | undefined,
  key: Buffer,
  uid: number | undefined = process.getuid?.(),
): Promise<Binding> {
  const { name } = container;
  const profiles = participation?.profiles;
  const asked = quoteForeign((profiles ?? []).join(","));
  const grant = grantOf(container, participation?.source ?? "label");
  if (grant !== undefined && grant.trim() !== "" && profiles !== undefined) {
    const verdict = verifyGrant(key, profiles, grant);
    if (verdict.ok) return { bound: true, via: "grant" };
    if (verdict.why === "other-owner") {
      return {
        bound: false,
        level: "debug",
        message: `container ${name} carries the grant of another user (owner ${quoteForeign(verdict.owner)}); theirs to supply, left alone`,
        status: "another user's",
      };
    }
    return {
      bound: false,
      level: "warn",
      message: `container ${name} asks for ${asked}, but its ${GRANT_LABEL} of this user is not for that profile list (edited or copied?); not supplied. To supply it, ${grantHint(profiles)}`,
      status: "grant does not match its profiles",
    };
  }
  const configFile = container.labels[CONFIG_FILE_LABEL];
  if (configFile !== undefined) {
    const config = await checkConfigBinding(configFile, profiles, uid);
    if (config.bound) return { bound: true, via: "devcontainer.json" };
    return {
      bound: false,
      level: "info",
      message: `Dev Container ${name} asks for ${asked}, but ${config.why}; not supplied. Open it from a devcontainer.json of yours whose sso-docker Feature lists those profiles.`,
      status: "devcontainer.json does not grant it",
    };
  }
  return {
    bound: false,
    level: "info",
    message: `container ${name} asks for ${asked} but carries no grant (${GRANT_LABEL}); not supplied. To supply it, ${grantHint(profiles ?? [])}`,
    status: "not granted",
  };
}
