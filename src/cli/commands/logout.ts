import { loadGrantKey } from "../../agent/grant-key.js";
import { wipeManagedContainers } from "../../agent/wipe-managed.js";
import { logout } from "../../auth/logout.js";
import { createDockerEngine } from "../../docker/engine.js";
import { wipeAttachedTargets } from "../../remote/wipe-targets.js";
import type { Deps } from "../../runtime/deps.js";
import { createDeps } from "../../runtime/deps.js";
import { SsoDockerError } from "../../runtime/errors.js";
import { messageOf } from "../../runtime/message-of.js";
import type { GlobalOptions } from "../global-options.js";

export async function runLogout(globals: GlobalOptions): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const result = await logout(deps);
  process.stderr.write(
    result.tokens === 0
      ? "No cached SSO sessions to sign out of.\n"
      : `Signed out of ${result.tokens} SSO session(s); removed ${result.cachedCredentials} cached role credential file(s).\n`,
  );
  await wipeContainers(deps);
  await wipeRemoteTargets(deps);
}

/** Attached remote targets (issue 11) lose their credentials too, whether or not Docker answers. */
async function wipeRemoteTargets(deps: Deps): Promise<void> {
  try {
    const { wiped, notRunning, failed } = await wipeAttachedTargets(deps);
    if (wiped.length > 0)
      process.stderr.write(
        `Removed credentials from ${wiped.length} remote target(s): ${wiped.join(", ")}.\n`,
      );
    if (notRunning.length > 0)
      process.stderr.write(
        `Not connecting to ${notRunning.length} remote target(s) that are not running (they hold nothing): ${notRunning.join(", ")}.\n`,
      );
    for (const { target, error } of failed)
      process.stderr.write(`warning: could not remove credentials from ${target}: ${error}\n`);
    if (failed.length > 0) process.exitCode = 1;
  } catch (err) {
    process.stderr.write(`warning: could not read the attached remote targets: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

/** After the local sign-out (which must happen whatever Docker says), empty every managed container. */
async function wipeContainers(deps: Deps): Promise<void> {
  let grantKey: Buffer;
  try {
    grantKey = await loadGrantKey(deps.env, deps.paths.home);
  } catch (err) {
    const hint = err instanceof SsoDockerError && err.hint !== undefined ? `\n  next: ${err.hint}` : "";
    process.stderr.write(
      `warning: signed out locally, but cannot tell which containers are yours to empty: ${(err as Error).message}${hint}\n`,
    );
    process.exitCode = 1;
    return;
  }
  let host = "the Docker engine";
  try {
    const engine = createDockerEngine({ env: deps.env, home: deps.paths.home });
    host = engine.host;
    await engine.ping();
    const { wiped, foreign, failed } = await wipeManagedContainers(engine, {
      grantKey,
    });
    if (wiped.length > 0)
      process.stderr.write(
        `Removed synced credentials from ${wiped.length} container(s): ${wiped.join(", ")}.\n`,
      );
    if (foreign.length > 0)
      process.stderr.write(
        `Left ${foreign.length} container(s) alone that are not bound to you (another user's, or granted to nobody): ${foreign.join(", ")}.\n`,
      );
    for (const { name, error } of failed)
      process.stderr.write(`warning: could not remove credentials from container ${name}: ${error}\n`);
    if (failed.length > 0) process.exitCode = 1;
  } catch (err) {
    const reason = messageOf(err);
    process.stderr.write(
      `warning: signed out locally, but could not reach ${host} to remove credentials from containers: ${reason}\n`,
    );
  }
}
