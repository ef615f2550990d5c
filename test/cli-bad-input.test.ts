import { createServer } from "node:net";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, it, type ExpectStatic } from "vitest";
import { registrationCachePath } from "../src/aws-files/registration-cache.js";
import { serializeSsoToken, tokenCachePath } from "../src/aws-files/token-cache.js";
import { isoSeconds } from "../src/runtime/time-format.js";
import {
  startFakeIdc,
  type FakeIdc,
  type FakeIdcOptions,
  type RequestLogEntry,
  type SeededSession,
} from "../src/fake-idc/index.js";
import {
  assertBuilt,
  cliEnv,
  createHome,
  runCli,
  secretsOf,
  seedToken,
  snapshotTree,
  type TestHome,
} from "./cli-support.js";

// DESIGN.md invariant 7: every bad input gives one `sso-docker: …` line naming the profile or
// file, a `next:` line with the command to run, a non-zero exit, nothing on stdout, no secret
// (with --debug too), and not one byte changed in HOME.

assertBuilt();

const START_URL = "https://d-1234567890.awsapps.com/start";
const SESSION = { sessionName: "corp", startUrl: START_URL, region: "us-east-1" };
const CONFIG = `# the user's own config
[profile app]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess
region = eu-west-1

[sso-session corp]
sso_start_url = ${START_URL}
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile plain]
region = eu-west-1

[profile orphan]
sso_session = gone
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess

[profile old-style]
sso_start_url = ${START_URL}
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess
`;

/** Where the damage goes in the malformed-config cases. */
const HEADER_LINE = CONFIG.split("\n").indexOf("[profile app]") + 1;
const JUNK_LINE = CONFIG.split("\n").length;

interface Ctx {
  idc: FakeIdc;
  /** Resolves with the next request the fake answers that matches; register before it can happen. */
  nextRequest(match: (entry: RequestLogEntry) => boolean): Promise<RequestLogEntry>;
  home: TestHome;
  env: Record<string, string>;
  /** Everything that must never be printed. */
  secrets: string[];
  seeded: SeededSession;
}

/** A fake, a HOME with CONFIG (or `config`), and a session the fake knows but HOME does not hold yet. */
async function withCtx(
  fn: (ctx: Ctx) => Promise<void>,
  options: { config?: string | Buffer; idc?: FakeIdcOptions } = {},
): Promise<void> {
  const waiters = new Set<(entry: RequestLogEntry) => void>();
  await using idc = await startFakeIdc({
    ...options.idc,
    onRequest: (entry) => {
      for (const waiter of waiters) waiter(entry);
    },
  });
  const nextRequest = (match: (entry: RequestLogEntry) => boolean) =>
    new Promise<RequestLogEntry>((resolve) => {
      const waiter = (entry: RequestLogEntry) => {
        if (!match(entry)) return;
        waiters.delete(waiter);
        resolve(entry);
      };
      waiters.add(waiter);
    });
  await using home = await createHome();
  await mkdir(join(home.home, ".aws"), { recursive: true });
  await writeFile(home.configFile, options.config ?? CONFIG);
  const seeded = idc.createSession();
  await fn({ idc, nextRequest, home, env: cliEnv(home, idc), secrets: secretsOf(seeded), seeded });
}

interface Expected {
  /** The `sso-docker: …` line's text after "sso-docker: ". */
  message: string;
  /** The whole `  next: …` line's text after "next: ". */
  next: string;
  /** Other stderr lines allowed before the two (prompts, warnings); none by default. */
  otherLines?: RegExp;
  /** Before each run (e.g. arm an injected failure). */
  arm?: () => void;
  /** While the command runs (e.g. deny the sign-in). */
  during?: () => Promise<void>;
  env?: Record<string, string>;
  /** Paths (relative to HOME) a run may add; nothing may change or disappear. */
  mayAdd?: readonly string[];
}

async function expectRefused(expect: ExpectStatic, ctx: Ctx, args: string[], expected: Expected) {
  const env = { ...ctx.env, ...expected.env };
  const lines: string[][] = [];
  for (const debug of [false, true]) {
    const before = await snapshotTree(ctx.home.home);
    expected.arm?.();
    const running = runCli(debug ? ["--debug", ...args] : args, env);
    // A CLI that ends early must not leave the test waiting on `during`.
    if (expected.during) await Promise.race([expected.during(), running]);
    const result = await running;
    const output = result.stdout + result.stderr;

    expect(result.timedOut).toBe(false);
    expect(result.exitCode, result.stderr).not.toBe(0);
    expect(result.stdout).toBe("");
    for (const secret of ctx.secrets) expect(output).not.toContain(secret);
    const mayAdd = new Set((expected.mayAdd ?? []).filter((path) => !(path in before)));
    const after = Object.fromEntries(
      Object.entries(await snapshotTree(ctx.home.home)).filter(([path]) => !mayAdd.has(path)),
    );
    expect(after).toEqual(before);

    const stderr = result.stderr.split("\n");
    expect(stderr.filter((line) => line.startsWith("sso-docker:"))).toHaveLength(1);
    const at = stderr.findIndex((line) => line.startsWith("sso-docker:"));
    const pair = stderr.slice(at, at + 2);
    lines.push(pair);
    if (!debug) {
      // The two lines end the output; before them only what the case allows.
      expect(at).toBe(stderr.length - 2);
      for (const line of stderr.slice(0, at)) expect(line).toMatch(expected.otherLines ?? /(?!)/);
    }
  }
  const [plain, debug] = lines;
  // --debug adds detail after the two lines, never changes them.
  expect(debug).toEqual(plain);
  const [message, next] = plain ?? [];
  expect(message).toBe(`sso-docker: ${expected.message}`);
  expect(next).toBe(`  next: ${expected.next}`);
}

const creds = ["credentials", "--profile", "app"];
const loginHint = "sso-docker login --profile app";

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}

// Every case has its own fake and HOME, so they run side by side. Each case runs the CLI twice
// (plain and --debug), some with the SDK's retry back-off: the time limit allows for a busy machine.
describe.concurrent("bad input", { timeout: 60_000 }, () => {
  describe.concurrent("the profile", () => {
    it("missing: lists the SSO profiles there are", async ({ expect }) => {
      await withCtx(async (ctx) => {
        await expectRefused(expect, ctx, ["credentials", "--profile", "nope"], {
          message: `Profile "nope" is not in ${ctx.home.configFile}. SSO profiles there: app, orphan, old-style.`,
          next: "sso-docker configure --profile nope",
        });
      });
    });

    it("missing, named by AWS_PROFILE", async ({ expect }) => {
      await withCtx(async (ctx) => {
        await expectRefused(expect, ctx, ["credentials"], {
          env: { AWS_PROFILE: "typo" },
          message: `Profile "typo" is not in ${ctx.home.configFile}. SSO profiles there: app, orphan, old-style.`,
          next: "sso-docker configure --profile typo",
        });
      });
    });

    it("missing, and no config file at all", async ({ expect }) => {
      await withCtx(async (ctx) => {
        await rm(ctx.home.configFile);
        await expectRefused(expect, ctx, creds, {
          message: `Profile "app" is not in ${ctx.home.configFile}. It has no SSO profiles.`,
          next: "sso-docker configure --profile app",
        });
      });
    });

    it("without IAM Identity Center settings", async ({ expect }) => {
      await withCtx(async (ctx) => {
        await expectRefused(expect, ctx, ["credentials", "--profile", "plain"], {
          message: `Profile "plain" in ${ctx.home.configFile} has no IAM Identity Center settings (sso_session or sso_start_url).`,
          next: "sso-docker configure --profile plain",
        });
      });
    });

    it("naming an [sso-session] that is not there", async ({ expect }) => {
      await withCtx(async (ctx) => {
        await expectRefused(expect, ctx, ["credentials", "--profile", "orphan"], {
          message: `There is no [sso-session gone] in ${ctx.home.configFile} (used by profile "orphan"). Sessions there: corp.`,
          next: "sso-docker configure --profile orphan",
        });
      });
    });
  });

  describe.concurrent("a malformed ~/.aws/config", () => {
    it("binary junk", async ({ expect }) => {
      const junk = Buffer.concat([
        Buffer.from(CONFIG),
        Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x0a, 0x89]),
      ]);
      await withCtx(
        async (ctx) => {
          await expectRefused(expect, ctx, creds, {
            message: `The AWS config file ${ctx.home.configFile} cannot be parsed: line ${JUNK_LINE} contains binary data.`,
            next: `Fix line ${JUNK_LINE} of ${ctx.home.configFile} in a text editor, or move the file aside and run: sso-docker configure`,
          });
        },
        { config: junk },
      );
    });

    it("a broken section header", async ({ expect }) => {
      await withCtx(
        async (ctx) => {
          await expectRefused(expect, ctx, creds, {
            message: `The AWS config file ${ctx.home.configFile} cannot be parsed: line ${HEADER_LINE} is not a valid section header (expected [name]).`,
            next: `Fix line ${HEADER_LINE} of ${ctx.home.configFile} in a text editor, or move the file aside and run: sso-docker configure`,
          });
        },
        { config: CONFIG.replace("[profile app]", "[profile app") },
      );
    });

    it("refuses configure too, without touching the file", async ({ expect }) => {
      await withCtx(
        async (ctx) => {
          const args = [
            "configure",
            "--sso-session",
            "corp",
            "--account-id",
            "111111111111",
            "--profile",
            "x",
          ];
          await expectRefused(expect, ctx, args, {
            message: `The AWS config file ${ctx.home.configFile} cannot be parsed: line ${HEADER_LINE} is not a valid section header (expected [name]).`,
            next: `Fix line ${HEADER_LINE} of ${ctx.home.configFile} in a text editor, or move the file aside and run: sso-docker configure`,
          });
        },
        { config: CONFIG.replace("[profile app]", "[profile app") },
      );
    });
  });

  describe.concurrent("a damaged token cache file is reported and left as it was", () => {
    const cases = {
      "corrupt JSON": (text: string) => text.replace('"accessToken"', "accessToken"),
      "truncated JSON": (text: string) => text.slice(0, Math.floor(text.length / 2)),
    };
    for (const [name, damage] of Object.entries(cases)) {
      it(name, async ({ expect }) => {
        await withCtx(async (ctx) => {
          const path = tokenCachePath(ctx.home.ssoCacheDir, SESSION);
          const text = serializeSsoToken({
            ...SESSION,
            accessToken: ctx.seeded.accessToken,
            expiresAt: isoSeconds(ctx.seeded.expiresAt),
            clientId: ctx.seeded.clientId,
            clientSecret: ctx.seeded.clientSecret,
            registrationExpiresAt: isoSeconds(ctx.seeded.registrationExpiresAt),
            refreshToken: ctx.seeded.refreshToken ?? "",
          });
          await mkdir(ctx.home.ssoCacheDir, { recursive: true });
          await writeFile(path, damage(text));
          await expectRefused(expect, ctx, creds, {
            message: `The SSO token cache file ${path} is not valid JSON.`,
            next: `Sign in again to replace it: ${loginHint}`,
          });
          expect(await readFile(path, "utf8")).toBe(damage(text));
          expect(ctx.idc.requests).toEqual([]);
        });
      });
    }
  });

  describe.concurrent("the SSO session", () => {
    it("expired, with no refresh token", async ({ expect }) => {
      await withCtx(async (ctx) => {
        await seedToken(ctx.home, SESSION, ctx.seeded, {
          expiresAt: Date.now() - 60_000,
          refreshToken: null,
        });
        await expectRefused(expect, ctx, creds, {
          message: "The SSO session associated with profile app has expired (sso-session corp).",
          next: loginHint,
        });
        expect(ctx.idc.requests).toEqual([]);
      });
    });

    it("expired, legacy profile (never refreshable)", async ({ expect }) => {
      await withCtx(async (ctx) => {
        const legacy = { startUrl: START_URL, region: "us-east-1" };
        await seedToken(ctx.home, legacy, ctx.seeded, { expiresAt: Date.now() - 60_000, refreshToken: null });
        await expectRefused(expect, ctx, ["credentials", "--profile", "old-style"], {
          message: `The SSO session associated with profile old-style has expired (${START_URL}).`,
          next: "sso-docker login --profile old-style",
        });
      });
    });

    it("revoked: the refresh is refused and the access token too", async ({ expect }) => {
      await withCtx(async (ctx) => {
        // Inside the 15-minute window, so a refresh is tried first.
        await seedToken(ctx.home, SESSION, ctx.seeded, { expiresAt: Date.now() + 10 * 60_000 });
        ctx.idc.revokeAllSessions();
        await expectRefused(expect, ctx, creds, {
          message: "The SSO session for profile app has expired or was revoked.",
          next: loginHint,
          otherLines: /^warning: could not refresh the SSO token of sso-session corp; it expires at \S+Z$/,
        });
        expect(ctx.idc.count("/token", { status: 400, errorType: "InvalidGrantException" })).toBe(2);
        expect(ctx.idc.count("/federation/credentials", { status: 401 })).toBe(2);
      });
    });

    it("revoked and past expiry: the refresh is refused", async ({ expect }) => {
      await withCtx(async (ctx) => {
        await seedToken(ctx.home, SESSION, ctx.seeded, { expiresAt: Date.now() - 60_000 });
        ctx.idc.revokeAllSessions();
        await expectRefused(expect, ctx, creds, {
          message: "The SSO session associated with profile app has expired and could not be refreshed.",
          next: loginHint,
        });
        expect(ctx.idc.count("/token", { status: 400, errorType: "InvalidGrantException" })).toBe(2);
        expect(ctx.idc.count("/federation/credentials")).toBe(0);
      });
    });

    it("a refused refresh while the access token is still valid: credentials still come, with a warning", async ({
      expect,
    }) => {
      await withCtx(async (ctx) => {
        const path = await seedToken(ctx.home, SESSION, ctx.seeded, { expiresAt: Date.now() + 10 * 60_000 });
        const token = await readFile(path, "utf8");
        for (const debug of [false, true]) {
          ctx.idc.failNext({ path: "/token", status: 400, errorType: "InvalidGrantException" });
          const result = await runCli(debug ? ["--debug", ...creds] : creds, ctx.env);
          expect(result.exitCode, result.stderr).toBe(0);
          const output = JSON.parse(result.stdout) as { AccessKeyId: string; Version: number };
          expect(output.Version).toBe(1);
          for (const secret of ctx.secrets) expect(result.stdout + result.stderr).not.toContain(secret);
          if (!debug) {
            expect(result.stderr).toMatch(
              /^warning: could not refresh the SSO token of sso-session corp; it expires at \S+Z$/,
            );
          }
          // The refused refresh did not touch the token file.
          expect(await readFile(path, "utf8")).toBe(token);
          // A cold cache again, so the --debug run also goes to the token.
          await rm(ctx.home.cliCacheDir, { recursive: true, force: true });
        }
        expect(ctx.idc.count("/token", { status: 400 })).toBe(2);
        expect(ctx.idc.count("/federation/credentials", { status: 200 })).toBe(2);
      });
    });
  });

  describe.concurrent("login", () => {
    it("denied in the browser", async ({ expect }) => {
      await withCtx(async (ctx) => {
        const registration = relative(
          ctx.home.home,
          registrationCachePath(ctx.home.ssoCacheDir, { ...SESSION, scopes: ["sso:account:access"] }),
        );
        await expectRefused(expect, ctx, ["login", "--profile", "app", "--use-device-code", "--no-browser"], {
          during: async () => {
            // Deny only once the CLI is polling, so the whole prompt → pending → denied path runs.
            const pending = ctx.nextRequest((e) => e.errorType === "AuthorizationPendingException");
            const authorization = await ctx.idc.nextDeviceAuthorization();
            expect(authorization.startUrl).toBe(START_URL);
            await pending;
            ctx.idc.denyDevice(authorization.userCode);
          },
          message: "The login for profile app was denied in the browser.",
          next: loginHint,
          // The device prompt, as the AWS CLI prints it.
          otherLines:
            /^(|Open the following URL in a browser, on this or any other device:|http:\/\/127\.0\.0\.1:\d+\/device|Then enter the code:|[B-Z]{4}-[B-Z]{4}|Or open directly: http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[B-Z]{4}-[B-Z]{4}|Waiting for the sign-in to be approved in the browser \(Ctrl-C to cancel\)…|Not signed in)$/,
          // The client registration is cached, as `aws sso login` does; no token is.
          mayAdd: [".aws/sso", ".aws/sso/cache", registration],
        });
        expect(ctx.idc.count("/token", { errorType: "AccessDeniedException" })).toBe(2);
        expect(
          ctx.idc.count("/token", { errorType: "AuthorizationPendingException" }),
        ).toBeGreaterThanOrEqual(2);
      });
    });
  });

  describe.concurrent("IAM Identity Center", () => {
    it("unreachable (SSO portal)", async ({ expect }) => {
      await withCtx(async (ctx) => {
        await seedToken(ctx.home, SESSION, ctx.seeded);
        const port = await closedPort();
        await expectRefused(expect, ctx, creds, {
          env: { AWS_ENDPOINT_URL_SSO: `http://127.0.0.1:${port}` },
          message: `Cannot reach IAM Identity Center at http://127.0.0.1:${port} (ECONNREFUSED) for profile app.`,
          next: "check the network, or the AWS_ENDPOINT_URL_SSO / AWS_ENDPOINT_URL_SSO_OIDC settings",
        });
      });
    });

    it("unreachable (SSO OIDC, during login)", async ({ expect }) => {
      await withCtx(async (ctx) => {
        const port = await closedPort();
        await expectRefused(expect, ctx, ["login", "--profile", "app", "--use-device-code", "--no-browser"], {
          env: { AWS_ENDPOINT_URL_SSO_OIDC: `http://127.0.0.1:${port}` },
          message: `Cannot reach IAM Identity Center at http://127.0.0.1:${port} (ECONNREFUSED) for profile app.`,
          next: "check the network, or the AWS_ENDPOINT_URL_SSO / AWS_ENDPOINT_URL_SSO_OIDC settings",
          otherLines: /^Not signed in$/,
          mayAdd: [".aws/sso", ".aws/sso/cache"],
        });
      });
    });

    it("403 ForbiddenException from GetRoleCredentials", async ({ expect }) => {
      await withCtx(async (ctx) => {
        await seedToken(ctx.home, SESSION, ctx.seeded);
        await expectRefused(expect, ctx, creds, {
          arm: () => {
            ctx.idc.failNext({
              path: "/federation/credentials",
              status: 403,
              errorType: "ForbiddenException",
            });
          },
          message:
            "IAM Identity Center refused GetRoleCredentials for profile app: the account or role is not assigned to you.",
          next: "sso-docker configure --profile app",
        });
      });
    });

    for (const [status, errorType] of [
      [500, "InternalServerException"],
      [429, "TooManyRequestsException"],
    ] as const) {
      it(`${status} ${errorType} on every attempt`, async ({ expect }) => {
        await withCtx(async (ctx) => {
          await seedToken(ctx.home, SESSION, ctx.seeded);
          await expectRefused(expect, ctx, creds, {
            arm: () => {
              ctx.idc.failNext({ path: "/federation/credentials", status, errorType, count: 100 });
            },
            message: `GetRoleCredentials failed for profile app (HTTP ${status}), ${errorType}: Injected failure (${status} ${errorType}).`,
            next: "try again in a minute",
          });
          // The SDK retried before giving up.
          expect(ctx.idc.count("/federation/credentials", { status })).toBeGreaterThanOrEqual(4);
        });
      });
    }
  });

  it("credentials --format bogus", async ({ expect }) => {
    await withCtx(async (ctx) => {
      await seedToken(ctx.home, SESSION, ctx.seeded);
      await expectRefused(expect, ctx, ["credentials", "--profile", "app", "--format", "bogus"], {
        message:
          "option '--format <format>' argument 'bogus' is invalid. Allowed choices are process, env, env-no-export, json.",
        next: "sso-docker credentials --help",
      });
      expect(ctx.idc.requests).toEqual([]);
    });
  });
});
