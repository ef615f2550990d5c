import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepTestContainers } from "./support/docker.js";
import { IMAGE_BUILD_TIMEOUT_MS } from "./support/images.js";
import { arnOf, startRunFixture, type RunFixture } from "./run-support.js";
import { BOTO3_STS_CLIENT, sdkLoopsArgs } from "./support/sdk-loops.js";

// Acceptance 2 of issue 3: with role credentials living 30 s in the fake, one `sso-docker run`
// container runs a boto3 loop and a JS SDK v3 loop side by side, each with ONE client object
// created up front, calling STS GetCallerIdentity every 2 s for 2 minutes. The SDKs refresh
// through credential_process on their own; the agent the run started keeps pushing fresh
// credentials (every ~15 s: eight rotations). The container exits by itself after ITERATIONS
// calls per loop; the test reads its output.

const LIFETIME_SECONDS = 30;
const PERIOD_SECONDS = 2;
const ITERATIONS = 60; // 2 minutes
const RUN_TIMEOUT_MS = (ITERATIONS * PERIOD_SECONDS + 60) * 1000;

// Each loop records the access key that actually signed each request (from its Authorization
// header) and never retries: one failed call is one failure.
const PY_LOOP = `
import json, re, sys, time, boto3
from botocore.config import Config
endpoint, n, period = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
${BOTO3_STS_CLIENT}
failures, t0 = 0, time.monotonic()
for i in range(n):
    time.sleep(max(0.0, t0 + i * period - time.monotonic()))
    signed["key"] = None
    try:
        arn = client.get_caller_identity()["Arn"]
        line = {"sdk": "boto3", "i": i, "key": signed["key"], "ok": True, "arn": arn}
    except Exception as e:
        failures += 1
        line = {"sdk": "boto3", "i": i, "key": signed["key"], "ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(line), flush=True)
sys.exit(1 if failures else 0)
`;

const JS_LOOP = `
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const [endpoint, n, period] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const client = new STSClient({ endpoint, maxAttempts: 1 });
let key = null;
client.middlewareStack.add(
  (next) => async (args) => {
    const match = /Credential=([^/]+)\\//.exec(args.request.headers.authorization ?? "");
    key = match ? match[1] : null;
    return next(args);
  },
  { step: "deserialize", name: "captureSigningKey" },
);
(async () => {
  let failures = 0;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + i * period * 1000 - Date.now())));
    key = null;
    let line;
    try {
      const out = await client.send(new GetCallerIdentityCommand({}));
      line = { sdk: "js", i, key, ok: true, arn: out.Arn };
    } catch (e) {
      failures++;
      line = { sdk: "js", i, key, ok: false, error: e.name + ": " + e.message };
    }
    console.log(JSON.stringify(line));
  }
  process.exitCode = failures ? 1 : 0;
})();
`;

// Both loops at once; the container's exit code is non-zero if either had a failure.
const BOTH = `python3 -c "$2" "$1" "$4" "$5" & p=$!
node -e "$3" "$1" "$4" "$5" & j=$!
wait $p; a=$?; wait $j; b=$?
exit $((a | b))`;

interface CallLine {
  sdk: "boto3" | "js";
  i: number;
  key: string | null;
  ok: boolean;
  arn?: string;
  error?: string;
}

let fx: RunFixture;

beforeAll(async () => {
  fx = await startRunFixture({ roleCredentialSeconds: LIFETIME_SECONDS });
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await sweepTestContainers();
  await fx[Symbol.asyncDispose]();
});

describe("credentials rotate under long-lived SDK clients", () => {
  it(
    `boto3 and JS SDK v3 loops run ${(ITERATIONS * PERIOD_SECONDS) / 60} minutes on ${LIFETIME_SECONDS}-s credentials with zero failures`,
    { timeout: RUN_TIMEOUT_MS + 30_000 },
    async () => {
      const started = Date.now();
      const result = await fx.run(
        sdkLoopsArgs(fx, "dev", BOTH, [PY_LOOP, JS_LOOP], [String(ITERATIONS), String(PERIOD_SECONDS)]),
        { debug: true, timeoutMs: RUN_TIMEOUT_MS },
      );
      const elapsed = Date.now() - started;
      const lines = result.stdout
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as CallLine);
      const issued = new Set(fx.idc.issuedCredentials().map((c) => c.accessKeyId));
      const summary = (sdk: CallLine["sdk"]) => {
        const calls = lines.filter((line) => line.sdk === sdk);
        return {
          calls: calls.length,
          failures: calls.filter((line) => !line.ok),
          wrongArn: calls.filter((line) => line.ok && line.arn !== arnOf("dev")).length,
          keys: new Set(calls.map((line) => line.key)),
        };
      };
      const boto3 = summary("boto3");
      const js = summary("js");
      console.log(
        `rotation: ${(elapsed / 1000).toFixed(0)} s, ${issued.size} keys issued, ` +
          `GetRoleCredentials ${fx.idc.count("/federation/credentials")}, ` +
          `boto3 ${boto3.calls} calls / ${boto3.failures.length} failures / ${boto3.keys.size} keys, ` +
          `js ${js.calls} calls / ${js.failures.length} failures / ${js.keys.size} keys`,
      );

      expect(boto3.failures).toEqual([]);
      expect(js.failures).toEqual([]);
      expect(result.exitCode).toBe(0);
      expect([boto3.calls, js.calls]).toEqual([ITERATIONS, ITERATIONS]);
      expect([boto3.wrongArn, js.wrongArn]).toEqual([0, 0]);
      // Only sso-docker's debug lines and its word on the agent it started: no client noise.
      const noise = result.stderr
        .split("\n")
        .filter((line) => line !== "" && !line.startsWith("debug: "))
        .map((line) => line.replace(/\(pid \d+\).*/, "(pid …)"));
      expect(noise).toEqual(["sso-docker: started the agent for unix:///var/run/docker.sock (pid …)"]);
      for (const { keys } of [boto3, js]) {
        expect(keys.size).toBeGreaterThanOrEqual(4);
        // Every key that signed was one the fake issued (and so verified the signature of).
        for (const key of keys) expect(issued.has(key ?? "")).toBe(true);
      }
      // The fake answered every call, and every answer was a success.
      const sts = fx.idc.count("/", { operation: "GetCallerIdentity" });
      expect(sts).toBe(2 * ITERATIONS);
      expect(fx.idc.count("/", { operation: "GetCallerIdentity", status: 200 })).toBe(sts);
    },
  );
});
