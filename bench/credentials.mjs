// Benchmark: `sso-docker credentials` with a warm cache vs the AWS CLI's
// `aws configure export-credentials` for the same profile, side by side in one run.
// Both read the same token and role-credential cache files; no network call is made.
// Usage: node bench/credentials.mjs [runs]   (after `npm run build`)
import { mkdtemp, rm, writeFile, mkdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { startFakeIdc } from "../dist/fake-idc/index.js";
import { median, writeResult } from "./lib.mjs";

const runs = Number(process.argv[2] ?? 15);
const CLI = fileURLToPath(new URL("../dist/bin/main.js", import.meta.url));
const AWS = "/usr/bin/aws";

const idc = await startFakeIdc({ autoApprove: true });
const home = await mkdtemp(join(tmpdir(), "sso-docker-bench-"));
try {
  await mkdir(join(home, ".aws"), { recursive: true });
  await writeFile(
    join(home, ".aws", "config"),
    `[profile dev]\nsso_session = my-sso\nsso_account_id = 111111111111\nsso_role_name = AdministratorAccess\nregion = us-east-1\n\n[sso-session my-sso]\nsso_start_url = ${idc.startUrl}\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n`,
  );
  // Point the AWS CLI 2.9 (which predates AWS_ENDPOINT_URL_*) at the fake through ~/.aws/models.
  for (const service of ["sso", "sso-oidc"]) {
    const rel = join(service, "2019-06-10", "endpoint-rule-set-1.json");
    const src = join("/usr/lib/python3/dist-packages/awscli/botocore/data", rel);
    const ruleSet = JSON.parse(await readFile(src, "utf8"));
    ruleSet.rules = [
      { conditions: [], endpoint: { url: idc.url, properties: {}, headers: {} }, type: "endpoint" },
    ];
    await mkdir(join(home, ".aws", "models", service, "2019-06-10"), { recursive: true });
    await writeFile(join(home, ".aws", "models", rel), JSON.stringify(ruleSet));
  }
  const env = {
    HOME: home,
    PATH: "/usr/bin:/bin",
    AWS_PAGER: "",
    AWS_EC2_METADATA_DISABLED: "true",
    ...idc.endpointEnv(),
  };
  const opts = { env, extendEnv: false };
  await execa(
    process.execPath,
    [CLI, "login", "--profile", "dev", "--use-device-code", "--no-browser"],
    opts,
  );
  // Warm both: the first call fetches role credentials into ~/.aws/cli/cache, shared by both tools.
  const ours = [process.execPath, [CLI, "credentials", "--profile", "dev"]];
  const theirs = [AWS, ["configure", "export-credentials", "--profile", "dev", "--format", "process"]];
  await execa(ours[0], ours[1], opts);
  await execa(theirs[0], theirs[1], opts);
  const fetchesBefore = idc.count("/federation/credentials");

  const time = async ([file, args]) => {
    const start = process.hrtime.bigint();
    await execa(file, args, opts);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    // Interleaved so machine load affects both alike.
    a.push(await time(ours));
    b.push(await time(theirs));
  }
  const result = {
    benchmark: "credentials-warm",
    runs,
    ssoDockerMedianMs: median(a),
    awsCliMedianMs: median(b),
    ratio: median(a) / median(b),
    target: 0.3,
    networkCallsDuringRuns: idc.count("/federation/credentials") - fetchesBefore,
    node: process.version,
  };
  await writeResult(result);
} finally {
  await idc.close();
  await rm(home, { recursive: true, force: true });
}
