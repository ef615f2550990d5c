import { randomBytes, randomUUID } from "node:crypto";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryProfile } from "../src/delivery/profile-files.js";
import { pushCredentials } from "../src/delivery/push-credentials.js";
import { shQuote } from "../src/delivery/push-script.js";
import { createDockerEngine } from "../src/docker/engine.js";

// The real AWS CLI, botocore and JS SDK v3 inside a container, reading what a push delivers and
// following a rotation without restarting. Skipped until docker/images/debian-aws is built.
const RUN = `sso-docker.test.run=${randomUUID()}`;
const engine = createDockerEngine({ env: process.env, home: process.env["HOME"] ?? "/root" });
const image = (await execa("sh", ["docker/images/debian-aws/build.sh", "--print-tag"])).stdout.trim();
const available = (await execa("docker", ["image", "inspect", image], { reject: false })).exitCode === 0;

function profile(name: string, minutes: number): DeliveryProfile {
  const tag = randomBytes(8).toString("hex").toUpperCase();
  return {
    name,
    region: "eu-west-1",
    credentials: {
      accessKeyId: `ASIA${tag}`,
      secretAccessKey: `s/${tag}+k`,
      sessionToken: `IQoJ${tag}==`,
      expiration: new Date(Date.now() + minutes * 60_000),
    },
  };
}

// Each client loads credentials once, waits for /tmp/go, then asks its same client again.
const PYTHON = `import boto3, os, sys, time
profile, out = sys.argv[1], sys.argv[2]
creds = boto3.Session(profile_name=profile).get_credentials()
def put(path, value):
    open(path + ".tmp", "w").write(value); os.rename(path + ".tmp", path)
put(out + ".1", creds.get_frozen_credentials().access_key)
while not os.path.exists("/tmp/go"): time.sleep(0.05)
put(out + ".2", creds.get_frozen_credentials().access_key)`;
const NODE = `const fs = require("fs");
const [profile, out] = process.argv.slice(1);
const provider = require("@aws-sdk/credential-providers").fromNodeProviderChain({ profile });
const put = (path, value) => { fs.writeFileSync(path + ".tmp", value); fs.renameSync(path + ".tmp", path); };
(async () => {
  put(out + ".1", (await provider()).accessKeyId);
  while (fs.existsSync("/tmp/go")) await new Promise((r) => setTimeout(r, 50));
  // Inside its 5-minute window the SDK answers with the current credentials and refreshes in
  // the background; the next requests of a client get the new ones.
  const first = (await provider()).accessKeyId;
  let key = first;
  for (let i = 0; i < 100 && key === first; i++) {
    await new Promise((r) => setTimeout(r, 50));
    key = (await provider()).accessKeyId;
  }
  put(out + ".2", key);
})();`;

let id = "";
beforeAll(async () => {
  if (!available) return;
  // As the agent finds a container: no AWS_CONFIG_FILE, so the push links ~/.aws/config.
  const args = ["run", "-d", "--label", "sso-docker.test=1", "--label", RUN, "--tmpfs", "/run/sso-docker"];
  id = (await execa("docker", [...args, "--user", "dev", image, "sleep", "600"])).stdout.trim();
});

afterAll(async () => {
  const all = (await execa("docker", ["ps", "-aq", "--filter", `label=${RUN}`])).stdout
    .split("\n")
    .filter(Boolean);
  if (all.length > 0) await execa("docker", ["rm", "-f", ...all]);
});

/** Waits (inside the container) until every file exists, then prints them, one per line. */
async function readWhenPresent(files: readonly string[]): Promise<string[]> {
  const script = `for f in "$@"; do i=0; until [ -f "$f" ]; do i=$((i + 1)); [ $i -lt 600 ] || { echo "no $f" >&2; cat /tmp/*.err >&2; exit 1; }; sleep 0.05; done; cat "$f"; echo; done`;
  const result = await engine.exec(id, { cmd: ["/bin/sh", "-c", script, "sh", ...files], user: "0:0" });
  expect(result.stderr).toBe("");
  return result.stdout.trim().split("\n");
}

describe.skipIf(!available)("real AWS clients in a container", () => {
  it(
    "the AWS CLI, botocore and the JS SDK use the pushed profiles and follow a rotation",
    { timeout: 60_000 },
    async () => {
      // botocore refreshes 15 min before expiry, the JS SDK 5 min before: first credentials sit inside those windows.
      const py1 = profile("py.dev", 12);
      const js1 = profile("js@dev", 4);
      const py2 = profile("py.dev", 60);
      const js2 = profile("js@dev", 60);
      await pushCredentials(engine, id, [py1, js1]);
      const cli = await engine.exec(id, {
        cmd: ["aws", "configure", "export-credentials", "--format", "process"],
        user: "",
      });
      expect(JSON.parse(cli.stdout)).toMatchObject({ Version: 1, AccessKeyId: py1.credentials.accessKeyId });

      await execa("docker", [
        "exec",
        "-d",
        id,
        "sh",
        "-c",
        `python3 -c ${shQuote(PYTHON)} py.dev /tmp/py 2>/tmp/py.err`,
      ]);
      await execa("docker", [
        "exec",
        "-d",
        id,
        "sh",
        "-c",
        `node -e ${shQuote(NODE)} js@dev /tmp/js 2>/tmp/js.err`,
      ]);
      expect(await readWhenPresent(["/tmp/py.1", "/tmp/js.1"])).toEqual([
        py1.credentials.accessKeyId,
        js1.credentials.accessKeyId,
      ]);
      await pushCredentials(engine, id, [py2, js2]);
      await engine.exec(id, { cmd: ["touch", "/tmp/go"], user: "0:0" });
      expect(await readWhenPresent(["/tmp/py.2", "/tmp/js.2"])).toEqual([
        py2.credentials.accessKeyId,
        js2.credentials.accessKeyId,
      ]);
    },
  );
});
