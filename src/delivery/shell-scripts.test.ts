import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { HELPER_SCRIPT } from "./helper-script.js";
import { shQuote } from "./push-script.js";

// Host-side checks under dash (Debian's /bin/sh); busybox ash is covered by the Docker suites.
const dir = mkdtempSync(join(tmpdir(), "sso-docker-sh-"));
chmodSync(dir, 0o755); // the "another user" case runs the helper as nobody
const helper = join(dir, "credential-process");
writeFileSync(helper, HELPER_SCRIPT);

describe("shQuote", () => {
  it("survives printf '%s' in dash for every awkward character", async () => {
    const nasty = `a'b''c\\n $HOME \`id\` %s %% "q" \n\t end'`;
    const { stdout } = await execa("dash", ["-c", `printf '%s' ${shQuote(nasty)}`], {
      stripFinalNewline: false,
    });
    expect(stdout).toBe(nasty);
  });
});

describe("credential-process helper", () => {
  it("prints the file when it exists", async () => {
    writeFileSync(join(dir, "p.json"), '{"Version":1}');
    const { stdout } = await execa("dash", [helper, join(dir, "p.json")]);
    expect(stdout).toBe('{"Version":1}');
  });

  it("gives up after SSO_DOCKER_WAIT_SECONDS with one clear line", async () => {
    const result = await execa("dash", [helper, join(dir, "nope.json")], {
      reject: false,
      env: { SSO_DOCKER_WAIT_SECONDS: "1" },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      "sso-docker: no credentials for profile nope in this container yet — is `sso-docker agent` running on the host?",
    );
  });

  it("waits for a file that appears while it polls", async () => {
    const target = join(dir, "late.json");
    const child = execa("dash", [helper, target], { env: { SSO_DOCKER_WAIT_SECONDS: "5" } });
    // `[ -f ]` runs first thing; the file appears while the helper sleeps between polls.
    await execa("dash", ["-c", `sleep 0.3; printf '%s' '{"late":1}' > ${shQuote(target)}`]);
    expect((await child).stdout).toBe('{"late":1}');
  });

  it("says so at once when the file is there but another user's, in a dir it can search but not list", async () => {
    const secrets = join(dir, "secrets");
    mkdirSync(secrets);
    chmodSync(secrets, 0o711);
    writeFileSync(join(secrets, "x.json"), '{"Version":1}', { mode: 0o600 });
    const root = process.getuid?.() === 0;
    if (!root) chmodSync(join(secrets, "x.json"), 0o000);
    const [cmd, ...args] = root
      ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "dash"]
      : ["dash"];
    // A wait of 15 s would fail the test's own timeout: the helper must not poll for it.
    const result = await execa(cmd, [...args, helper, `${secrets}/x.json`], { reject: false });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      "sso-docker: the credentials for profile x belong to another user in this container",
    );
  });
});

describe("credential-process helper with the agent's status note", () => {
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  const json = (expiresInMs: number) =>
    JSON.stringify({
      Version: 1,
      AccessKeyId: "ASIAX",
      SecretAccessKey: "s",
      SessionToken: "t",
      Expiration: iso(Date.now() + expiresInMs),
    });
  const NOTE =
    "the agent on the host cannot get credentials for profile n: role R in account 111111111111 is no longer assigned to you (ForbiddenException) — since 2026-12-05T10:00:00Z; on the host run `sso-docker status`";

  function files(name: string, note: string | undefined, content?: string): string {
    const target = join(dir, `${name}.json`);
    if (content !== undefined) writeFileSync(target, content);
    if (note !== undefined) writeFileSync(join(dir, `${name}.note`), note);
    return target;
  }

  it("prints the note at once when there is no JSON, instead of waiting out SSO_DOCKER_WAIT_SECONDS", async () => {
    const t0 = performance.now();
    const result = await execa("dash", [helper, files("revoked", `${NOTE}\n`)], {
      reject: false,
      env: { SSO_DOCKER_WAIT_SECONDS: "10" },
    });
    expect({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `sso-docker: ${NOTE}`,
    });
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it("prints the note when the JSON beside it has expired", async () => {
    const result = await execa("dash", [helper, files("expired", `${NOTE}\n`, json(-5000))], {
      reject: false,
    });
    expect({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `sso-docker: ${NOTE}`,
    });
  });

  it("hands out credentials that are still valid, note or not, and expired ones when there is no note", async () => {
    const valid = json(600_000);
    expect((await execa("dash", [helper, files("valid", `${NOTE}\n`, valid)])).stdout).toBe(valid);
    const stale = json(-5000);
    expect((await execa("dash", [helper, files("stale", undefined, stale)])).stdout).toBe(stale);
  });

  it("prints the note's first line only, cut at 1000 bytes, as text: nothing in it is run or expanded", async () => {
    const marker = join(dir, "ran");
    const hostile = `$(touch ${marker}) \`touch ${marker}\` %s %n \\n $HOME ${"x".repeat(2000)}\nsecond line`;
    const result = await execa("dash", [helper, files("hostile", hostile)], { reject: false });
    expect(result.exitCode).toBe(1);
    const line = hostile.split("\n")[0] ?? "";
    expect(result.stderr).toBe(`sso-docker: ${line.slice(0, 1000)}`);
    expect(existsSync(marker)).toBe(false);
  });

  it("falls back to the plain message when the note is empty", async () => {
    const result = await execa("dash", [helper, files("empty", "")], {
      reject: false,
      env: { SSO_DOCKER_WAIT_SECONDS: "0" },
    });
    expect(result.stderr).toBe(
      "sso-docker: no credentials for profile empty in this container yet — is `sso-docker agent` running on the host?",
    );
  });
});
