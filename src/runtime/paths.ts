import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { Env } from "./env.js";

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

function expandHome(path: string, home: string): string {
  return path === "~" || path.startsWith("~/") ? join(home, path.slice(1)) : path;
}

/** Where the AWS CLI would look, honouring HOME and AWS_CONFIG_FILE the way it does. */
export function resolveAwsPaths(env: Env): AwsPaths {
  const home = env["HOME"] ?? env["USERPROFILE"] ?? homedir();
  const configured = env["AWS_CONFIG_FILE"];
  const configFile = resolve(configured ? expandHome(configured, home) : join(home, ".aws", "config"));
  const credentials = env["AWS_SHARED_CREDENTIALS_FILE"];
  return {
    home,
    configFile,
    credentialsFile: resolve(credentials ? expandHome(credentials, home) : join(home, ".aws", "credentials")),
    ssoCacheDir: join(home, ".aws", "sso", "cache"),
    cliCacheDir: join(home, ".aws", "cli", "cache"),
  };
}
