import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { startFakeIdc } from "../../fake-idc/index.js";
import type { GlobalOptions } from "../main.js";

const CLI = fileURLToPath(new URL("../main.js", import.meta.url));

/**
 * The whole flow on the embedded default: a local fake IAM Identity Center that approves
 * sign-ins by itself, a throw-away HOME, and the real `sso-docker` commands a user types,
 * each printed before it runs.
 */
export async function runDemo(flags: { keep?: boolean }, globals: GlobalOptions): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), "sso-docker-demo-"));
  await using idc = await startFakeIdc({ autoApprove: true });
  const env = {
    HOME: home,
    AWS_CONFIG_FILE: join(home, ".aws", "config"),
    AWS_ENDPOINT_URL_SSO_OIDC: idc.url,
    AWS_ENDPOINT_URL_SSO: idc.url,
    AWS_ENDPOINT_URL_STS: idc.url,
    AWS_PROFILE: "",
  };
  const say = (text: string) => process.stdout.write(`${text}\n`);
  const run = async (args: string[]) => {
    say(`\n$ sso-docker ${args.join(" ")}`);
    await execa(process.execPath, [CLI, ...(globals.debug ? ["--debug"] : []), ...args], {
      env,
      extendEnv: true,
      stdio: ["ignore", "inherit", "inherit"],
    });
  };
  say(`sso-docker demo — fake IAM Identity Center at ${idc.url}, HOME=${home}`);
  say("Sign-ins are approved automatically; nothing leaves this machine.");
  try {
    await run([
      "configure",
      "--sso-session",
      "demo",
      "--start-url",
      "https://d-9067c0ffee.awsapps.com/start",
      "--sso-region",
      "us-east-1",
      "--account-id",
      idc.accounts[0]?.accountId ?? "111111111111",
      "--role-name",
      idc.accounts[0]?.roles[0] ?? "ReadOnly",
      "--region",
      "us-east-1",
      "--output",
      "json",
      "--profile",
      "demo",
      "--use-device-code",
      "--no-browser",
    ]);
    await run(["credentials", "--profile", "demo"]);
    say(`\nThe demo's ~/.aws/config:\n`);
    const { readFile } = await import("node:fs/promises");
    say(await readFile(env.AWS_CONFIG_FILE, "utf8"));
  } finally {
    if (flags.keep) say(`Kept ${home}`);
    else await rm(home, { recursive: true, force: true });
  }
}
