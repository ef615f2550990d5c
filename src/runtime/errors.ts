/**
 * Every failure a user can meet is one of these: `message` says what failed and names the
 * profile, file or container; `hint` is the next command to run. Only `cli/` prints them.
 * Messages never carry secrets: build them from names and paths, never from tokens or keys.
 */
export class SsoDockerError extends Error {
  override name = "SsoDockerError";
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** ~/.aws/config cannot be read or parsed, or a profile in it is incomplete. */
export class ConfigError extends SsoDockerError {
  override name = "ConfigError";
}

/** The named profile does not exist, or is not an IAM Identity Center profile. */
export class ProfileError extends SsoDockerError {
  override name = "ProfileError";
}

/** A token or registration cache file is unreadable or corrupt. */
export class CacheFileError extends SsoDockerError {
  override name = "CacheFileError";
}

/** No usable SSO session: never logged in, expired, or the refresh was refused. */
export class SessionExpiredError extends SsoDockerError {
  override name = "SessionExpiredError";
}

/** The interactive login did not complete: denied, timed out, cancelled. */
export class LoginError extends SsoDockerError {
  override name = "LoginError";
}

/** IAM Identity Center answered with an error, or could not be reached. */
export class AwsServiceError extends SsoDockerError {
  override name = "AwsServiceError";
}

/** The Docker engine is unreachable, or refused a request about a container. */
export class DockerError extends SsoDockerError {
  override name = "DockerError";
}

/** The user interrupted the command (Ctrl-C). */
export class CancelledError extends SsoDockerError {
  override name = "CancelledError";
  constructor(message = "Cancelled.") {
    super(message, { exitCode: 130 });
  }
}
