import { homedir } from "node:os";
import { posix, win32 } from "node:path";
import type { PlatformPath } from "node:path";
import type { Env } from "./env.js";

/**
 * The user's home directory as the AWS CLI v2 and the docker CLI both find it, so sso-docker
 * reads the same `~/.aws` and `~/.docker` they do. On Windows that is USERPROFILE: botocore
 * expands `~` with Python's `os.path.expanduser`, which since Python 3.8 ignores HOME there
 * (USERPROFILE, else HOMEDRIVE + HOMEPATH), and the docker CLI uses Go's `os.UserHomeDir`
 * (USERPROFILE). Elsewhere both read HOME, and the password database when it is unset.
 */
export function userHome(env: Env, platform: NodeJS.Platform, osHome: () => string = homedir): string {
  if (platform === "win32") {
    const profile = env["USERPROFILE"];
    if (profile) return profile;
    const homePath = env["HOMEPATH"];
    if (homePath) return win32.join(env["HOMEDRIVE"] ?? "", homePath);
    return osHome();
  }
  const home = env["HOME"];
  return home ? home : osHome();
}

/** The path rules of the platform the paths are for (a Windows path in a unit test on Linux). */
export function pathsFor(platform: NodeJS.Platform): PlatformPath {
  return platform === "win32" ? win32 : posix;
}
