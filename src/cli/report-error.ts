import { SsoDockerError } from "../runtime/errors.js";
import { redact } from "../runtime/logger.js";
import { messageOf } from "../runtime/message-of.js";

/**
 * The one place that turns a failure into what the user reads: one line naming what failed,
 * one line with the next command, and the exit code. Stacks only with --debug.
 */
export function reportError(
  err: unknown,
  options: { debug: boolean; write?: (text: string) => void },
): number {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  if (err instanceof SsoDockerError) {
    write(`sso-docker: ${redact(err.message)}\n`);
    if (err.hint) write(`  next: ${err.hint}\n`);
    if (options.debug && err.cause instanceof Error)
      write(`  cause: ${redact(err.cause.stack ?? err.cause.message)}\n`);
    return err.exitCode;
  }
  const message = messageOf(err);
  write(`sso-docker: unexpected error: ${redact(message)}\n`);
  if (options.debug && err instanceof Error && err.stack) write(`${redact(err.stack)}\n`);
  else write("  next: run the command again with --debug for details\n");
  return 1;
}
