import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  CreateTokenCommand,
  RegisterClientCommand,
  SSOOIDCClient,
  StartDeviceAuthorizationCommand,
} from "@aws-sdk/client-sso-oidc";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
let outDir = "";

/** Transpiles this directory (and the clock and time formats it imports) so the entry point runs as plain node, as from dist/. */
beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "fake-idc-main-"));
  const sources = (await readdir(here))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => join("fake-idc", f));
  for (const rel of [...sources, join("runtime", "clock.ts"), join("runtime", "time-format.ts")]) {
    const source = await readFile(join(here, "..", rel), "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    await mkdir(join(outDir, dirname(rel)), { recursive: true });
    await writeFile(join(outDir, rel.replace(/\.ts$/, ".js")), outputText);
  }
  await writeFile(join(outDir, "package.json"), '{"type":"module"}');
});

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe("fake-idc main", () => {
  it("prints its URL as one JSON line, serves until SIGTERM, and exits cleanly", async () => {
    const child = spawn(
      process.execPath,
      [join(outDir, "fake-idc", "main.js"), "--port", "0", "--auto-approve"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const exited = once(child, "exit");
    const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    const { url } = JSON.parse(line) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const oidc = new SSOOIDCClient({ endpoint: url, region: "us-east-1", maxAttempts: 1 });
    const reg = await oidc.send(new RegisterClientCommand({ clientName: "main-test", clientType: "public" }));
    const client = { clientId: reg.clientId!, clientSecret: reg.clientSecret! };
    const auth = await oidc.send(
      new StartDeviceAuthorizationCommand({ ...client, startUrl: `${url}/start` }),
    );
    const token = await oidc.send(
      new CreateTokenCommand({
        ...client,
        grantType: "urn:ietf:params:oauth:grant-type:device_code",
        deviceCode: auth.deviceCode!,
      }),
    );
    expect(token.accessToken).toBeTruthy();

    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  });

  it("rejects bad arguments with a usage line and exit code 2", async () => {
    const child = spawn(process.execPath, [join(outDir, "fake-idc", "main.js"), "--port", "x"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toContain("usage:");
  });
});
