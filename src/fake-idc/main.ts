#!/usr/bin/env node
import { parseArgs } from "node:util";
import { startFakeIdc } from "./server.js";
import type { Lifetimes } from "./types.js";

/**
 * The fake IAM Identity Center as a process, for the demo and for containers:
 *   node dist/fake-idc/main.js --host 0.0.0.0 --port 0 [--auto-approve] [--credential-seconds N] [--verbose]
 * Prints one JSON line {"url": …} on stdout once listening; stops on SIGTERM or SIGINT.
 */

const USAGE =
  "usage: main.js [--host H] [--port N] [--auto-approve] [--credential-seconds N] [--access-token-seconds N] [--verbose]";

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} must be a positive whole number of seconds`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "0" },
      "auto-approve": { type: "boolean", default: false },
      "credential-seconds": { type: "string" },
      "access-token-seconds": { type: "string" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port must be 0-65535");
  const lifetimes: Partial<Lifetimes> = {};
  const credentialSeconds = seconds(values["credential-seconds"], "credential-seconds");
  const accessTokenSeconds = seconds(values["access-token-seconds"], "access-token-seconds");
  if (credentialSeconds !== undefined) lifetimes.roleCredentialSeconds = credentialSeconds;
  if (accessTokenSeconds !== undefined) lifetimes.accessTokenSeconds = accessTokenSeconds;

  const idc = await startFakeIdc({
    host: values.host,
    port,
    autoApprove: values["auto-approve"],
    lifetimes,
    // The log entries carry no secrets, so they may go to stderr as they are.
    ...(values.verbose ? { onRequest: (entry) => process.stderr.write(JSON.stringify(entry) + "\n") } : {}),
  });
  process.stdout.write(JSON.stringify({ url: idc.url }) + "\n");

  const stop = () => {
    void idc.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`fake-idc: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
  process.exit(2);
});
