import { homedir } from "node:os";
import type { Env } from "./env.js";
import { pathsFor, userHome } from "./home-dir.js";

export interface AwsPaths {
  home: string;
  /** `AWS_CONFIG_FILE` or `~/.aws/config`. */
  configFile: string;
  /** `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`: read only to resolve role chains as the AWS CLI does. */
  credentialsFile: string;
  /** `~/.aws/sso/cache`: SSO tokens and client registrations, as the AWS CLI v2 keeps them. */
  ssoCacheDir: string;
  /** `~/.aws/cli/cache`: the AWS CLI's role-credential cache (cleared by logout). */
  cliCacheDir: string;
}

/** Where the AWS CLI would look, honouring the home directory and AWS_CONFIG_FILE the way it does. */
export function resolveAwsPaths(
  env: Env,
  platform: NodeJS.Platform = process.platform,
  osHome: () => string = homedir,
): AwsPaths {
  const path = pathsFor(platform);
  const home = userHome(env, platform, osHome);
  // Python's expanduser: `~` alone or followed by a separator (either one on Windows).
  const expandHome = (file: string): string =>
    file === "~" || file.startsWith("~/") || (platform === "win32" && file.startsWith("~\\"))
      ? path.join(home, file.slice(1))
      : file;
  const configured = env["AWS_CONFIG_FILE"];
  const credentials = env["AWS_SHARED_CREDENTIALS_FILE"];
  return {
    home,
    configFile: path.resolve(configured ? expandHome(configured) : path.join(home, ".aws", "config")),
    credentialsFile: path.resolve(
      credentials ? expandHome(credentials) : path.join(home, ".aws", "credentials"),
    ),
    ssoCacheDir: path.join(home, ".aws", "sso", "cache"),
    cliCacheDir: path.join(home, ".aws", "cli", "cache"),
  };
}
