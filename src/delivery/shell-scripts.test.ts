import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
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
