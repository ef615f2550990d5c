import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { agentStateDir } from "../agent/agent-files.js";
import { shQuote } from "../delivery/push-script.js";
import type { Deps } from "../runtime/deps.js";
import type { Env } from "../runtime/env.js";

/**
 * What lets the shell front (sso-docker.sh) exec `docker run` at once, with no Node in front:
 * a plan, written by a run that went through Node and succeeded, for the same `--profile`
 * list in the same environment. The front uses it only while everything that run checked
 * still holds:
 *
 * - the environment that decides the profiles, the sign-in and the engine is the same (`key`);
 * - the role credentials it found cached are still fresh (`until`: the first refresh time);
 * - nothing changed since in the AWS config, the SSO and CLI caches (a login, a logout, a
 *   refresh) or the docker CLI's config (another context): the plan is newer than each;
 * - the image was checked for /bin/sh (`images`).
 *
 * Otherwise it runs Node, which checks it all again and writes a new plan. The plan holds no
 * secret: docker options, names and times.
 */

/** The variables, in this order, that the front joins with `|` into the key, then the names. */
export const PLAN_ENV = [
  "HOME",
  "AWS_CONFIG_FILE",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_SSO",
  "AWS_ENDPOINT_URL_SSO_OIDC",
  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  "DOCKER_HOST",
  "DOCKER_CONTEXT",
  "DOCKER_CONFIG",
  "DOCKER_CERT_PATH",
  "DOCKER_TLS_VERIFY",
  "XDG_STATE_HOME",
] as const;

/** At most this many plans (profile lists) are kept; the oldest goes first. */
const MAX_PLANS = 8;
/** Images per plan: the ones most recently run. */
const MAX_IMAGES = 16;

export interface RunPlan {
  /** `--profile` values as given (the front joins them with `,`); empty for the default. */
  given: readonly string[];
  /** The profiles the container gets, for run-pusher.js. */
  names: readonly string[];
  /** Epoch ms until which the cached role credentials need no refresh. */
  until: number;
  image: string;
  /** docker run options the container needs, without the per-run label. */
  options: readonly string[];
  /** The volume the options mount: the pusher names it if docker finds it gone. */
  volume: string;
}

export function planKey(env: Env, given: readonly string[]): string {
  return [...PLAN_ENV.map((name) => env[name] ?? ""), given.join(",")].join("|");
}

export function plansDir(env: Env, home: string): string {
  return join(agentStateDir(env, home), "run-plans");
}

function planFile(dir: string, key: string): string {
  return join(dir, `${createHash("sha256").update(key).digest("hex").slice(0, 16)}.sh`);
}

/** The `# names:` and `# volume:` lines run-pusher.js reads back. */
export interface PlanHeader {
  names: string[];
  volume: string;
}

export function readPlanHeader(text: string): PlanHeader | undefined {
  const names = /^# names: (.*)$/m.exec(text)?.[1];
  const volume = /^# volume: (.*)$/m.exec(text)?.[1];
  if (names === undefined || volume === undefined) return undefined;
  const parsed = JSON.parse(names) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((n) => typeof n === "string")) return undefined;
  return { names: parsed, volume };
}

/**
 * The files the front compares the plan with, in its order: the AWS config, the SSO and CLI
 * caches, the docker CLI's config (its current context).
 */
export function watchedFiles(deps: Deps): string[] {
  const { env, paths } = deps;
  return [
    paths.configFile,
    paths.ssoCacheDir,
    paths.cliCacheDir,
    join(env["DOCKER_CONFIG"] ?? join(paths.home, ".docker"), "config.json"),
  ];
}

/** One character per watched file, "1" where it is absent: it must stay so for the plan to hold. */
async function absentFlags(files: readonly string[]): Promise<string> {
  const found = await Promise.all(
    files.map((f) =>
      stat(f).then(
        () => "0",
        () => "1",
      ),
    ),
  );
  return found.join("");
}

function renderPlan(key: string, plan: RunPlan, images: readonly string[], absent: string): string {
  // `$token` is the front's: a label unique to the run, which the pusher waits for.
  const run = ["docker", "run", ...plan.options].map(shQuote).join(" ");
  return [
    "# sso-docker run plan (src/run/run-plan.ts), sourced by sso-docker.sh. No secrets.",
    `# names: ${JSON.stringify(plan.names)}`,
    `# volume: ${plan.volume}`,
    `p_key=${shQuote(key)}`,
    `p_until=${String(Math.floor(plan.until / 1000))}`,
    `p_images=${shQuote(images.join(" "))}`,
    `p_absent=${absent}`,
    `p_run() { exec ${run} --label "sso-docker.run=$token" "$@"; }`,
    "",
  ].join("\n");
}

/** Image names the front can match as one word each. */
const PLAIN_IMAGE = /^[\w./:@-]+$/;

/** Records the plan of a run that succeeded; failures only cost the next run its speed. */
export async function writePlan(deps: Deps, plan: RunPlan): Promise<void> {
  try {
    const dir = plansDir(deps.env, deps.paths.home);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const key = planKey(deps.env, plan.given);
    const file = planFile(dir, key);
    const before = await readFile(file, "utf8").catch(() => "");
    const listed = /^p_images='([^']*)'$/m.exec(before)?.[1]?.split(" ") ?? [];
    const images = PLAIN_IMAGE.test(plan.image)
      ? [plan.image, ...listed.filter((i) => i !== plan.image && i !== "")].slice(0, MAX_IMAGES)
      : listed;
    // Whole or not at all for the front, which sources it; no fsync: a lost plan costs one slow run.
    const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    const absent = await absentFlags(watchedFiles(deps));
    await writeFile(temp, renderPlan(key, plan, images, absent), { mode: 0o600, flag: "wx" });
    await rename(temp, file).catch(async (error: unknown) => {
      await unlink(temp).catch(() => undefined);
      throw error;
    });
    await settleNewer(file, watchedFiles(deps));
    await prunePlans(dir);
  } catch (error) {
    deps.logger.debug(`no run plan written: ${(error as Error).message}`);
  }
}

/**
 * The kernel stamps files from a clock that moves in ticks (4–10 ms), so the plan can get the
 * very mtime of a cache file written just before it, and the front, which wants it strictly
 * newer, would never use it (seen in CI). Until it is newer, this waits out a tick and stamps the
 * plan with the time now. A change after that gets a later stamp than the plan's.
 */
async function settleNewer(file: string, watched: readonly string[]): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const [plan, ...others] = await Promise.all(
      [file, ...watched].map((f) => stat(f, { bigint: true }).catch(() => undefined)),
    );
    if (plan === undefined) return;
    if (others.every((o) => o === undefined || plan.mtimeNs > o.mtimeNs)) return;
    await sleep(TICK_MS);
    const now = new Date();
    await utimes(file, now, now);
  }
}

/** Longer than the kernel's file-time tick (HZ 100: 10 ms). */
const TICK_MS = 12;

async function prunePlans(dir: string): Promise<void> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".sh"));
  if (names.length <= MAX_PLANS) return;
  const dated = await Promise.all(
    names.map(async (n) => ({ n, t: (await stat(join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  dated.sort((a, b) => b.t - a.t);
  await Promise.all(dated.slice(MAX_PLANS).map(({ n }) => unlink(join(dir, n)).catch(() => undefined)));
}

/** Every plan goes (logout, a plan the engine proved wrong): the next runs go through Node. */
export async function forgetPlans(env: Env, home: string): Promise<void> {
  const dir = plansDir(env, home);
  const names = await readdir(dir).catch(() => []);
  await Promise.all(names.map((n) => unlink(join(dir, n)).catch(() => undefined)));
}
