import { randomBytes } from "node:crypto";
import type { ContainerDetails, DockerEngine } from "../docker/engine.js";
import { DockerError, ProfileError } from "../runtime/errors.js";
import { quoteForeign } from "../runtime/untrusted-text.js";
import { CREDENTIALS_FILE_NAME, RUN_DIR } from "./paths.js";
import {
  encodeProfileFileName,
  renderCredentialProcessJson,
  renderCredentialsFile,
  type DeliveryProfile,
  type ProfileSettings,
} from "./profile-files.js";
import { linkAwsConfig, LINK_NEEDED } from "./aws-config-link.js";
import { rootScript } from "./container-shell.js";
import { buildPushScript, PushExit } from "./push-script.js";
import { chooseLayout, type ContainerLayout } from "./secret-dir.js";
import { renderStaticFiles } from "./static-files.js";

export interface PushOptions {
  /** Owner of the files instead of the container's `Config.User` (Dev Containers `remoteUser`). */
  user?: string;
  /**
   * Every profile the container's config names, when some of them get no credentials in this
   * push (the agent cannot get them): they stay in the config, so their note is what the AWS
   * tools print. Default: the pushed profiles.
   */
  configProfiles?: readonly ProfileSettings[];
  signal?: AbortSignal;
}

export interface PushResult {
  containerId: string;
  containerName: string;
  secretDir: string;
  uid: number;
  gid: number;
  profiles: string[];
  /** Things the user should know that did not stop the push, as sentences. */
  warnings: string[];
}

/**
 * The push was killed with its container (exec exit 137): the container ended, which its own
 * `docker run` reports; not a failure of the push to show on top.
 */
export class ContainerStoppedError extends DockerError {}

const PUSH_REFUSED = Symbol.for("sso-docker.PushRefusedError");

/**
 * The container's shell ran the push and refused to write the credentials for a reason of its own
 * (no printf builtin, a file it cannot replace) in a secret dir that is there and sso-docker's:
 * a status note may still land beside them and tell its user why.
 */
export class PushRefusedError extends DockerError {
  override name = "PushRefusedError";
  readonly [PUSH_REFUSED] = true;

  static is(error: unknown): error is PushRefusedError {
    return (
      typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[PUSH_REFUSED] === true
    );
  }
}

/**
 * Writes the profiles' credentials into the container's tmpfs secret dir as files of its user,
 * replacing each file atomically, and refreshes its config and helper — in one exec as root
 * (plus one as the user while ~/.aws/config is still to be linked). Pass the container's details
 * when you already have them to skip an inspect.
 */
export async function pushCredentials(
  engine: DockerEngine,
  container: string | ContainerDetails,
  profiles: readonly DeliveryProfile[],
  options: PushOptions = {},
): Promise<PushResult> {
  const details = typeof container === "string" ? await engine.inspectContainer(container) : container;
  checkProfiles(profiles, details.name);
  return runPushScript(engine, details, renderSecretFiles(profiles, options.configProfiles), options);
}

/** The files a credentials push writes, whatever carries the script (docker exec, ssh). */
export function renderSecretFiles(
  profiles: readonly DeliveryProfile[],
  configProfiles?: readonly ProfileSettings[],
): PushContent {
  const secretFiles = [
    ...profiles.map((p) => ({
      name: encodeProfileFileName(p.name),
      content: renderCredentialProcessJson(p),
    })),
    { name: CREDENTIALS_FILE_NAME, content: renderCredentialsFile(profiles) },
  ];
  const secrets = profiles.flatMap((p) => [p.credentials.secretAccessKey, p.credentials.sessionToken]);
  return { profiles: configProfiles ?? profiles, secretFiles, secrets };
}

/** What one push script writes: the credentials, or (with no secret files) status notes. */
export interface PushContent {
  /** Every profile of the container: its config names them all. */
  profiles: readonly ProfileSettings[];
  secretFiles: readonly { name: string; content: string }[];
  notes?: readonly { name: string; content: string }[];
  /** Scrubbed from whatever the script prints. */
  secrets: readonly string[];
}

/** Runs the push script as root (and links ~/.aws/config as the user when it is still to be). */
export async function runPushScript(
  engine: DockerEngine,
  details: ContainerDetails,
  content: PushContent,
  options: PushOptions,
): Promise<PushResult> {
  const { profiles } = content;
  assertRunning(details);
  const layout = chooseLayout(details);
  const warnings: string[] = [];
  const configured = details.env["AWS_CONFIG_FILE"];
  if (configured !== undefined && configured !== layout.configPath) {
    warnings.push(
      `Container ${details.name} sets AWS_CONFIG_FILE=${configured}, so its AWS tools do not see the synced profiles in ${layout.configPath}.`,
    );
  }
  const userSpec = options.user ?? details.user;
  const script = buildPushScript({
    userSpec,
    layout,
    secretFiles: content.secretFiles,
    ...(content.notes === undefined ? {} : { notes: content.notes }),
    staticFiles: layout.staticReadOnly === true ? undefined : renderStaticFiles(profiles, layout),
    linkAwsConfig: configured === undefined,
    nonce: randomBytes(8).toString("hex"),
  });
  const result = await engine.exec(details.id, rootScript(details, script, options.signal));
  if (result.exitCode !== 0) {
    throw scriptError(result.exitCode, scrub(result.stderr || result.stdout, content.secrets), details.name, {
      layout,
      user: userSpec,
    });
  }
  const parsed = parseOutput(result.stdout, details.name, layout);
  const { uid, gid } = pushedIds(parsed, details.name);
  if (parsed.linkHome !== undefined) {
    const home = parsed.linkHome;
    const linked = await linkAwsConfig(
      engine,
      details,
      { uid, gid, home },
      layout.configPath,
      options.signal,
    );
    parsed.warnings.push(...parseOutput(linked, details.name, layout).warnings);
  }
  return {
    containerId: details.id,
    containerName: details.name,
    secretDir: layout.secret.dir,
    uid,
    gid,
    profiles: profiles.map((p) => p.name),
    warnings: [...warnings, ...parsed.warnings],
  };
}

function checkProfiles(profiles: readonly DeliveryProfile[], container: string): void {
  if (profiles.length === 0) {
    throw new ProfileError(`No profiles to push into container ${container}.`, {
      hint: "Name them in the label sso-docker.profiles or the env SSO_DOCKER_PROFILES.",
    });
  }
  const seen = new Set<string>();
  for (const { name } of profiles) {
    if (seen.has(name))
      throw new ProfileError(`Profile "${name}" is listed twice for container ${container}.`);
    seen.add(name);
  }
}

function assertRunning(details: ContainerDetails): void {
  if (!details.running || details.paused) {
    const verb = details.paused ? "unpause" : "start";
    throw new DockerError(`Container ${details.name} is ${details.paused ? "paused" : "not running"}.`, {
      hint: `Run \`docker ${verb} ${details.name}\`, then try again.`,
    });
  }
}

/** Backstop: no secret reaches an error message, even if a shell echoed part of the script. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret !== "") out = out.replaceAll(secret, "***");
  return out.trim().split("\n").slice(0, 5).join("\n").slice(0, 500);
}

function scriptError(
  code: number,
  detail: string,
  name: string,
  ctx: { layout: ContainerLayout; user: string },
): DockerError {
  const why = quoteForeign(detail.replace(/^sso-docker: /, ""));
  switch (code) {
    case 126:
    case 127:
      return new DockerError(
        `Container ${name} has no POSIX shell at /bin/sh (a distroless or scratch image?).`,
        {
          hint: "sso-docker writes credentials to tmpfs through /bin/sh; use an image variant with a shell (busybox, -debug, slim).",
        },
      );
    case 137:
      return new ContainerStoppedError(
        `Container ${name} stopped while credentials were being pushed into it.`,
        {
          hint: `Run \`docker ps -a --filter name=${name}\` to see why it stopped.`,
        },
      );
    case PushExit.user:
      return new DockerError(`Cannot find the user "${ctx.user || "root"}" of container ${name}: ${why}.`, {
        hint: `Check \`docker inspect -f '{{.Config.User}}' ${name}\` and /etc/passwd in the image.`,
      });
    case PushExit.notTmpfs:
      return new DockerError(`Container ${name} has no tmpfs for credentials: ${why}.`, {
        hint: `Recreate it with \`--tmpfs ${RUN_DIR}\` (\`sso-docker run\` adds it).`,
      });
    case PushExit.noPrintfBuiltin:
      return new PushRefusedError(
        `The /bin/sh of container ${name} has no printf builtin, so writing credentials would expose them in process arguments.`,
        { hint: "Use an image whose /bin/sh is dash, bash or busybox ash." },
      );
    case PushExit.staticFiles:
      return new DockerError(`Cannot write ${ctx.layout.staticDir} in container ${name}: ${why}.`, {
        hint: `A read-only root filesystem needs a tmpfs for them: recreate it with \`--tmpfs ${RUN_DIR}\` (\`sso-docker run\` adds it).`,
      });
    case PushExit.secretDir:
    case PushExit.secretWrite: {
      const Refusal = code === PushExit.secretWrite ? PushRefusedError : DockerError;
      return new Refusal(
        `Cannot write credentials into ${ctx.layout.secret.dir} in container ${name}: ${why}.`,
        {
          hint: `Look at it with \`docker exec -u 0 ${name} ls -la ${ctx.layout.secret.dir}\`.`,
        },
      );
    }
    default:
      return new DockerError(
        `Pushing credentials into container ${name} failed (exit ${code}): ${detail === "" ? "no output" : why}.`,
        {
          hint: "Run again with --debug; check the container with `docker logs`.",
        },
      );
  }
}

export interface PushOutput {
  ids?: { uid: number; gid: number };
  warnings: string[];
  /** The user's home, when ~/.aws/config is to be linked. */
  linkHome?: string;
}

export function parseOutput(stdout: string, name: string, layout: ContainerLayout): PushOutput {
  const out: PushOutput = { warnings: [] };
  for (const line of stdout.split("\n")) {
    const [kind, a = "", ...rest] = line.trim().split(" ");
    if (kind === "user") out.ids = { uid: Number(a), gid: Number(rest[0]) };
    if (kind === "warn") out.warnings.push(describeWarning(a, rest.join(" "), name, layout.configPath));
    // A home may hold spaces: all of the line after the keyword.
    if (kind === LINK_NEEDED) out.linkHome = line.slice(LINK_NEEDED.length + 1);
  }
  return out;
}

export function pushedIds(output: PushOutput, name: string): { uid: number; gid: number } {
  const { ids } = output;
  if (ids === undefined || !Number.isInteger(ids.uid) || !Number.isInteger(ids.gid)) {
    throw new DockerError(`Pushing credentials into container ${name} gave no result.`, {
      hint: "Run again with --debug; the container's /bin/sh may not be POSIX.",
    });
  }
  return ids;
}

function describeWarning(code: string, rawPath: string, name: string, configPath: string): string {
  // A path from the container's /etc/passwd: its words, not ours.
  const path = quoteForeign(rawPath);
  const fix = `set AWS_CONFIG_FILE=${configPath} in it`;
  switch (code) {
    case "aws-config-exists":
      return `Container ${name} has its own ${path}, left alone; to use the synced profiles, ${fix}.`;
    case "no-home":
      return `The user of container ${name} has no home directory; to use the synced profiles, ${fix}.`;
    default:
      return `Could not link ${path} in container ${name} to ${configPath}; to use the synced profiles, ${fix}.`;
  }
}
