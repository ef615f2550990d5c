import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AssumeRoleStep } from "../aws-files/role-chain.js";
import { assumeRoleCacheKey, readAssumeRoleCache, writeAssumeRoleCache } from "./assume-role-cache.js";

const PYTHON = "/usr/bin/python3";

/** botocore's own computation, run by Python: json.dumps(args, sort_keys=True), sha1. */
function botocoreKey(step: AssumeRoleStep): string | undefined {
  const args: Record<string, string | number> = { RoleArn: step.roleArn };
  if (step.roleSessionName !== undefined) args["RoleSessionName"] = step.roleSessionName;
  if (step.externalId !== undefined) args["ExternalId"] = step.externalId;
  if (step.durationSeconds !== undefined) args["DurationSeconds"] = step.durationSeconds;
  const script =
    "import hashlib, json, sys; print(hashlib.sha1(json.dumps(json.loads(sys.stdin.read()), sort_keys=True).encode('utf-8')).hexdigest())";
  const result = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(args), encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

const step = (extra: Partial<AssumeRoleStep>): AssumeRoleStep => ({
  profileName: "app",
  roleArn: "arn:aws:iam::555555555555:role/partner-audit",
  accountId: "555555555555",
  roleName: "partner-audit",
  ...extra,
});

describe("assumeRoleCacheKey", () => {
  it("is the file name the AWS CLI 2.9 gave these requests (seen against the fake)", () => {
    expect(
      assumeRoleCacheKey(
        step({ roleSessionName: "probe", externalId: "partner-7f3a", durationSeconds: 900 }),
      ),
    ).toBe("69c958c5d16a1b46c3d25ffba624fadac1dcffff");
    expect(
      assumeRoleCacheKey(
        step({ roleArn: "arn:aws:iam::444444444444:role/workload-deployer", roleName: "workload-deployer" }),
      ),
    ).toBe("91a0233604372995328f8d3901d772d4904919fb");
  });

  it.skipIf(botocoreKey(step({})) === undefined)(
    "agrees with Python's json.dumps + sha1 on every parameter",
    () => {
      const steps = [
        step({}),
        step({ roleSessionName: "a@b.c" }),
        step({ externalId: "x:y/z=1", durationSeconds: 43200 }),
        step({ roleArn: 'arn:aws:iam::555555555555:role/p"a\\th/~/partner-audit', durationSeconds: 3600 }),
      ];
      for (const s of steps) expect(assumeRoleCacheKey(s)).toBe(botocoreKey(s));
      // A generated session name is not part of the key: one entry whatever the session is called.
      expect(assumeRoleCacheKey(step({}))).not.toBe(assumeRoleCacheKey(step({ roleSessionName: "x1" })));
    },
  );
});

describe("the cache file", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sso-docker-ar-cache-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const credentials = {
    accessKeyId: "ASIAEXAMPLE",
    secretAccessKey: "secret/+=",
    sessionToken: "token",
    expiration: Date.UTC(2026, 11, 5, 11, 39, 43),
    assumedRoleArn: "arn:aws:sts::555555555555:assumed-role/partner-audit/probe",
    assumedRoleId: "AROAF8D1C380A88A60EEA:probe",
  };

  it("is written as the AWS CLI v2 writes it (less ResponseMetadata), 0600, and read back", async () => {
    const s = step({});
    await writeAssumeRoleCache(dir, s, credentials);
    const path = join(dir, `${assumeRoleCacheKey(s)}.json`);
    expect(await readFile(path, "utf8")).toBe(
      '{"Credentials": {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret/+=", "SessionToken": "token", ' +
        '"Expiration": "2026-12-05T11:39:43+00:00", "AccountId": "555555555555"}, ' +
        '"AssumedRoleUser": {"AssumedRoleId": "AROAF8D1C380A88A60EEA:probe", "Arn": "arn:aws:sts::555555555555:assumed-role/partner-audit/probe"}}',
    );
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readAssumeRoleCache(dir, s)).toEqual(credentials);
  });

  it("reads the CLI's own entries (isoformat or boto3's …UTC) and takes a corrupt one for a miss", async () => {
    const s = step({});
    const path = join(dir, `${assumeRoleCacheKey(s)}.json`);
    const entry = (expiration: string) =>
      JSON.stringify({
        Credentials: { AccessKeyId: "A", SecretAccessKey: "S", SessionToken: "T", Expiration: expiration },
        AssumedRoleUser: { AssumedRoleId: "AROA:x", Arn: "arn:aws:sts::1:assumed-role/r/x" },
        ResponseMetadata: { RequestId: "r", HTTPStatusCode: 200, HTTPHeaders: {}, RetryAttempts: 0 },
      });
    for (const text of ["2026-12-05T11:39:43+00:00", "2026-12-05T11:39:43UTC"]) {
      await writeFile(path, entry(text));
      expect(await readAssumeRoleCache(dir, s)).toMatchObject({
        accessKeyId: "A",
        expiration: credentials.expiration,
      });
    }
    await writeFile(path, entry("2026-12-05T11:39:43UTC").slice(0, 40));
    expect(await readAssumeRoleCache(dir, s)).toBeUndefined();
    await writeFile(path, '{"Credentials": {"AccessKeyId": "A"}}');
    expect(await readAssumeRoleCache(dir, s)).toBeUndefined();
    expect(await readAssumeRoleCache(dir, step({ durationSeconds: 900 }))).toBeUndefined();
  });
});
