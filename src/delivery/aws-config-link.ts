import type { ContainerDetails, DockerEngine } from "../docker/engine.js";
import { SAFE_PREAMBLE, shQuote, userScript } from "./container-shell.js";

/**
 * `~/.aws/config` as a link to the synced config, for tools that ignore AWS_CONFIG_FILE, made
 * only when the container's user has none of their own. The home directory is the user's, so a
 * root process there could be raced into following a link they swap in: the root push only looks
 * (`-ef`, `-L`, `-e`, which write nothing) and prints `link-aws-config HOME` when a link is
 * wanted, and a second exec, as the user, makes it.
 */
export const LINK_NEEDED = "link-aws-config";

// The checks both execs make; `$home` is set before. Each outcome is one line for parseOutput.
const checks = (configPath: string, otherwise: string) =>
  [
    'if [ -z "$home" ] || [ "$home" = / ]; then echo "warn no-home /"',
    `elif [ "$home/.aws/config" -ef ${shQuote(configPath)} ]; then :`,
    'elif [ -L "$home/.aws" ]; then echo "warn aws-dir-is-link $home/.aws"',
    'elif [ -e "$home/.aws/config" ] || [ -L "$home/.aws/config" ]; then echo "warn aws-config-exists $home/.aws/config"',
    `else ${otherwise}`,
    "fi",
  ].join("\n");

/** The root push's part: looks, writes nothing. */
export const AWS_CONFIG_LINK_CHECK = (configPath: string): string =>
  checks(configPath, `echo "${LINK_NEEDED} $home"`);

/** The user's part: the same checks again (the user may have changed things since), then the link. */
export function linkAwsConfigScript(home: string, configPath: string): string {
  return [
    SAFE_PREAMBLE,
    `home=${shQuote(home)}`,
    '[ -e "$home/.aws" ] || [ -L "$home/.aws" ] || mkdir -m 700 "$home/.aws" 2>/dev/null',
    checks(
      configPath,
      `ln -s ${shQuote(configPath)} "$home/.aws/config" 2>/dev/null || echo "warn aws-config-link-failed $home/.aws/config"`,
    ),
    "",
  ].join("\n");
}

/** Makes the link as `uid:gid`; returns the script's output lines (warnings). */
export async function linkAwsConfig(
  engine: DockerEngine,
  container: ContainerDetails,
  ids: { uid: number; gid: number; home: string },
  configPath: string,
  signal?: AbortSignal,
): Promise<string> {
  const user = `${String(ids.uid)}:${String(ids.gid)}`;
  const result = await engine.exec(
    container.id,
    userScript(container, user, linkAwsConfigScript(ids.home, configPath), signal),
  );
  return result.exitCode === 0
    ? result.stdout
    : `${result.stdout}\nwarn aws-config-link-failed ${ids.home}/.aws/config`;
}
