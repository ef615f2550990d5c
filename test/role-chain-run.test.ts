import { appendFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { runFixtureForFile } from "./run-support.js";

// Issue 13, phase 2: `sso-docker run --profile app`, where app assumes a role from the SSO
// profile dev, with the fake's AssumeRole credentials living 20 s (a refresh round every ~10 s).
// In one container a boto3 loop (ONE client, made up front) and an AWS CLI loop call STS
// GetCallerIdentity side by side for LOOP_SECONDS; neither retries, so one failed call is one
// failure. The container exits by itself; the test reads its output.

const ASSUMED_SECONDS = 20;
const LOOP_SECONDS = 36;
const DEPLOYER = "arn:aws:iam::444444444444:role/workload-deployer";
const APP_ARN = "arn:aws:sts::444444444444:assumed-role/workload-deployer/app-run";

const PY_LOOP = `
import json, re, sys, time, boto3
from botocore.config import Config
endpoint, seconds = sys.argv[1], float(sys.argv[2])
client = boto3.client("sts", endpoint_url=endpoint, config=Config(retries={"total_max_attempts": 1}))
signed = {"key": None}
def capture(request, **_):
    auth = request.headers.get("Authorization", "")
    auth = auth.decode() if isinstance(auth, bytes) else auth
    match = re.search(r"Credential=([^/]+)/", auth)
    signed["key"] = match.group(1) if match else None
client.meta.events.register("before-send.sts.GetCallerIdentity", capture)
failures, t0, i = 0, time.monotonic(), 0
while time.monotonic() - t0 < seconds:
    signed["key"] = None
    try:
        line = {"sdk": "boto3", "i": i, "key": signed["key"], "ok": True, "arn": client.get_caller_identity()["Arn"]}
        line["key"] = signed["key"]
    except Exception as e:
        failures += 1
        line = {"sdk": "boto3", "i": i, "key": signed["key"], "ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(line), flush=True)
    i += 1
    time.sleep(1)
sys.exit(1 if failures else 0)
`;

// The AWS CLI starts anew for each call, so each call runs the credential_process helper.
const CLI_LOOP = `end=$(( $(date +%s) + $2 )); i=0; f=0
while [ "$(date +%s)" -lt "$end" ]; do
  if out=$(aws sts get-caller-identity --endpoint-url "$1" --output text --query Arn 2>&1); then
    printf '{"sdk":"cli","i":%d,"ok":true,"arn":"%s"}\\n' "$i" "$out"
  else
    f=$((f + 1))
    printf '{"sdk":"cli","i":%d,"ok":false,"error":"%s"}\\n' "$i" "$(printf %s "$out" | tr -d '"\\\\\\n')"
  fi
  i=$((i + 1)); sleep 1
done
[ "$f" -eq 0 ]`;

// Both loops at once, after the region the container's config gives the profile.
const BOTH = `printf '{"sdk":"region","region":"%s"}\\n' "$(aws configure get region)"
python3 -c "$2" "$1" "$4" & p=$!
sh -c "$3" sh "$1" "$4" & c=$!
wait $p; a=$?; wait $c; b=$?
exit $((a | b))`;

interface Line {
  sdk: "boto3" | "cli" | "region";
  ok?: boolean;
  arn?: string;
  key?: string | null;
  error?: string;
  region?: string;
}

const fixture = runFixtureForFile({ assumedRoleCapSeconds: ASSUMED_SECONDS });

describe("sso-docker run --profile with a role chain", () => {
  it(
    `boto3 and AWS CLI loops sign as the assumed role for ${LOOP_SECONDS} s of ${ASSUMED_SECONDS}-s AssumeRole credentials, with zero failures and a new key every round`,
    { timeout: (LOOP_SECONDS + 60) * 1000 },
    async () => {
      const fx = fixture();
      await appendFile(
        fx.home.configFile,
        `\n[profile app]\nrole_arn = ${DEPLOYER}\nsource_profile = dev\nrole_session_name = app-run\nregion = ap-southeast-2\n`,
      );
      const result = await fx.run(
        [
          "--profile",
          "app",
          "--rm",
          "-u",
          "dev",
          fx.images.debianAws,
          "sh",
          "-c",
          BOTH,
          "sh",
          fx.endpoint,
          PY_LOOP,
          CLI_LOOP,
          String(LOOP_SECONDS),
        ],
        { timeoutMs: (LOOP_SECONDS + 45) * 1000 },
      );
      const lines = result.stdout
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Line);
      const of = (sdk: Line["sdk"]) => lines.filter((line) => line.sdk === sdk);
      const boto3 = of("boto3");
      const cli = of("cli");
      const assumed = fx.idc.issuedCredentials().filter((c) => c.issuedBy === "AssumeRole");
      const keys = new Set(boto3.map((line) => line.key));
      console.info(
        `chain rotation: AssumeRole ${fx.idc.count("/", { operation: "AssumeRole", roleArn: DEPLOYER })}, ` +
          `GetRoleCredentials ${fx.idc.count("/federation/credentials")}, ` +
          `boto3 ${boto3.length} calls / ${keys.size} keys, cli ${cli.length} calls`,
      );

      expect(of("region")).toEqual([{ sdk: "region", region: "ap-southeast-2" }]);
      expect(boto3.filter((line) => line.ok !== true)).toEqual([]);
      expect(cli.filter((line) => line.ok !== true)).toEqual([]);
      expect({ exitCode: result.exitCode, stderr: result.stderr }).toMatchObject({ exitCode: 0 });
      expect(boto3.length).toBeGreaterThanOrEqual(LOOP_SECONDS / 3);
      expect(cli.length).toBeGreaterThanOrEqual(5);
      for (const line of [...boto3, ...cli]) expect(line.arn).toBe(APP_ARN);
      // Every key that signed was one AssumeRole issued (the fake verified each signature), and
      // the loop saw at least three of them: rounds every ~10 s over 36 s.
      const assumedKeys = new Set(assumed.map((c) => c.accessKeyId));
      for (const key of keys) expect(assumedKeys.has(key ?? "")).toBe(true);
      expect(keys.size).toBeGreaterThanOrEqual(3);
      // One GetRoleCredentials for the SSO role (it lives an hour); one AssumeRole per round.
      expect(fx.idc.count("/federation/credentials")).toBe(1);
    },
  );
});
