import type { RunFixture } from "../run-support.js";

/**
 * Python for the boto3 loops: ONE STS client for `endpoint`, made up front and never retrying
 * (one failed call is one failure), that records in `signed["key"]` the access key that actually
 * signed each GetCallerIdentity (from its Authorization header). Needs `re`, `boto3` and
 * botocore's `Config` imported, and `endpoint` set.
 */
export const BOTO3_STS_CLIENT = `client = boto3.client("sts", endpoint_url=endpoint, config=Config(retries={"total_max_attempts": 1}))
signed = {"key": None}
def capture(request, **_):
    auth = request.headers.get("Authorization", "")
    auth = auth.decode() if isinstance(auth, bytes) else auth
    match = re.search(r"Credential=([^/]+)/", auth)
    signed["key"] = match.group(1) if match else None
client.meta.events.register("before-send.sts.GetCallerIdentity", capture)`;

/**
 * `sso-docker run` arguments for the rotation suites' one container: the debian-aws image, user
 * dev, `profile`, and `script` (sh) running two SDK loops side by side. The script gets the fake's
 * endpoint as $1, the two loop programs as $2 and $3, then `args`; the container goes when it
 * ends (--rm).
 */
export function sdkLoopsArgs(
  fx: Pick<RunFixture, "images" | "endpoint">,
  profile: string,
  script: string,
  loops: readonly [string, string],
  args: readonly string[],
): string[] {
  return [
    "--profile",
    profile,
    "--rm",
    "-u",
    "dev",
    fx.images.debianAws,
    "sh",
    "-c",
    script,
    "sh",
    fx.endpoint,
    ...loops,
    ...args,
  ];
}
