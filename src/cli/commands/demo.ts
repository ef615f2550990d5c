import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { startFakeIdc } from "../../fake-idc/index.js";
import { CLI_ENTRY, PACKAGE_ROOT } from "../../runtime/package-root.js";
import type { GlobalOptions } from "../global-options.js";

const CLI = CLI_ENTRY;
const IMAGES = join(PACKAGE_ROOT, "docker", "build-test-images.sh");
const BUSYBOX = join(PACKAGE_ROOT, "docker", "images", "busybox", "build.sh");

async function imageExists(tag: string): Promise<boolean> {
  return (await execa("docker", ["image", "inspect", tag], { reject: false })).exitCode === 0;
}

/** `sso-docker run` against the local engine: the real AWS CLI if its test image is built, else busybox. */
async function runContainerPart(
  run: (args: string[]) => Promise<void>,
  say: (text: string) => void,
  port: string,
): Promise<void> {
  if ((await execa("docker", ["info"], { reject: false })).exitCode !== 0) {
    say(
      "\nNo Docker engine is reachable, so the container part is skipped (start dockerd, or run `bash .ci/run` once).",
    );
    return;
  }
  const tags = Object.fromEntries(
    (await execa("sh", [IMAGES, "--print-tags"])).stdout
      .split("\n")
      .map((line) => line.split("=") as [string, string]),
  );
  const debianAws = tags["debian-aws"];
  if (debianAws && (await imageExists(debianAws))) {
    say("\nA container with the real AWS CLI calls STS (the fake checks the SigV4 signature):");
    await run([
      "run",
      "--profile",
      "demo",
      "--rm",
      "--add-host",
      "host.docker.internal:host-gateway",
      debianAws,
      "aws",
      "sts",
      "get-caller-identity",
      "--endpoint-url",
      `http://host.docker.internal:${port}`,
    ]);
    return;
  }
  const busybox = (await execa("sh", [BUSYBOX], { reject: false })).stdout.trim();
  if (!busybox) {
    say(
      "\nNo test image could be built here (apt-get install busybox-static), so the container part is skipped.",
    );
    return;
  }
  say("\nA container sees the profile and its credential_process (secret masked here):");
  await run([
    "run",
    "--profile",
    "demo",
    "--rm",
    busybox,
    "sh",
    "-c",
    'cat $AWS_CONFIG_FILE; /bin/sh /run/sso-docker/etc/credential-process /run/sso-docker/secrets/demo.json | sed -E \'s/("(SecretAccessKey|SessionToken)": ?")[^"]*/\\1…/g\'',
  ]);
}

/**
 * The whole flow on the embedded default: a local fake IAM Identity Center that approves
 * sign-ins by itself, a throw-away HOME, and the real `sso-docker` commands a user types,
 * each printed before it runs.
 */
export async function runDemo(flags: { keep?: boolean }, globals: GlobalOptions): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), "sso-docker-demo-"));
  // 0.0.0.0 so the demo container can reach it through host.docker.internal.
  await using idc = await startFakeIdc({ autoApprove: true, host: "0.0.0.0" });
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
    await runContainerPart(run, say, new URL(idc.url).port);
    say(`\nThe demo's ~/.aws/config:\n`);
    const { readFile } = await import("node:fs/promises");
    say(await readFile(env.AWS_CONFIG_FILE, "utf8"));
  } finally {
    // `sso-docker run` started an agent in the demo's HOME; it has nothing to do once the demo ends.
    await execa(process.execPath, [CLI, "agent", "stop"], {
      env,
      extendEnv: true,
      stdio: "ignore",
      reject: false,
    });
    if (flags.keep) say(`Kept ${home}`);
    else await rm(home, { recursive: true, force: true });
  }
}
