import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSharedConfigFiles } from "@smithy/shared-ini-file-loader";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantFor } from "../src/agent/grant.js";
import { HELPER_SCRIPT } from "../src/delivery/helper-script.js";
import { pushCredentials } from "../src/delivery/push-credentials.js";
import type { DeliveryProfile } from "../src/delivery/profile-files.js";
import { RUN_LAYOUT, SHM_LAYOUT, TMPFS_LAYOUT, type ContainerLayout } from "../src/delivery/secret-dir.js";
import { renderStaticFiles } from "../src/delivery/static-files.js";
import { wipeCredentials } from "../src/delivery/wipe-credentials.js";
import { createDockerEngine } from "../src/docker/engine.js";
import { deliveryOptions } from "../src/run/run-container.js";
import { prepareRunVolume } from "../src/run/run-volume.js";
import { ensureTestImages } from "./support/images.js";

// Real engine: every container carries sso-docker.test=1 and this file's run id, swept in afterAll.
const IMAGE = "sso-docker-test/busybox:1";
const RUN = `sso-docker.test.run=${randomUUID()}`;
const engine = createDockerEngine({ env: process.env, home: process.env["HOME"] ?? "/root" });

function profile(name: string): DeliveryProfile {
  const tag = randomBytes(12).toString("base64url");
  return {
    name,
    region: "eu-west-1",
    credentials: {
      accessKeyId: `ASIA${tag.slice(0, 12).toUpperCase()}`,
      // A quote and an '=' exercise the script's quoting and the ini rendering.
      secretAccessKey: `sec'ret/${tag}+k=`,
      sessionToken: `IQoJ${tag}/tok+en==`,
      expiration: new Date(Date.now() + 3600_000),
    },
  };
}
const secretsOf = (p: DeliveryProfile) => [p.credentials.secretAccessKey, p.credentials.sessionToken];
const jsonOf = (p: DeliveryProfile) => ({
  Version: 1,
  AccessKeyId: p.credentials.accessKeyId,
  SecretAccessKey: p.credentials.secretAccessKey,
  SessionToken: p.credentials.sessionToken,
  Expiration: p.credentials.expiration.toISOString().replace(/\.\d{3}Z$/, "Z"),
});

async function run(args: readonly string[], cmd: readonly string[] = ["sleep", "600"]): Promise<string> {
  const out = await execa("docker", [
    "run",
    "-d",
    "--label",
    "sso-docker.test=1",
    "--label",
    RUN,
    ...args,
    IMAGE,
    ...cmd,
  ]);
  return out.stdout.trim();
}

/** Runs a shell snippet in the container (user "" = the container's own user). */
async function sh(id: string, script: string, user = "0:0", env: string[] = []) {
  return engine.exec(id, { cmd: ["/bin/sh", "-c", script], user, env });
}

/** What the JS SDK would run for `profile`, read from the container's own config file. */
async function credentialProcessOf(id: string, name: string, layout: ContainerLayout): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "sso-docker-cfg-"));
  writeFileSync(join(dir, "config"), (await sh(id, `cat ${layout.configPath}`)).stdout);
  const { configFile } = await loadSharedConfigFiles({
    configFilepath: join(dir, "config"),
    filepath: join(dir, "none"),
  });
  return configFile[name]?.credential_process ?? "";
}

const cases = [
  {
    title: "root on --tmpfs",
    args: ["--tmpfs", "/run/sso-docker"],
    uid: 0,
    layout: TMPFS_LAYOUT,
    home: "/root",
  },
  {
    title: "--user dev on /dev/shm",
    args: ["--user", "dev"],
    uid: 1000,
    layout: SHM_LAYOUT,
    home: "/home/dev",
  },
  {
    title: "--user 1000:1000 on --mount type=tmpfs",
    args: ["--user", "1000:1000", "--mount", "type=tmpfs,destination=/run/sso-docker"],
    uid: 1000,
    layout: TMPFS_LAYOUT,
    home: "/home/dev",
  },
  {
    title: "root on /dev/shm with AWS_CONFIG_FILE set",
    args: ["-e", "AWS_CONFIG_FILE=/etc/sso-docker/config"],
    uid: 0,
    layout: SHM_LAYOUT,
    home: undefined,
  },
];
const ids = new Map<string, string>();
let extra: { root: string; runShaped: string; stopped: string };

beforeAll(async () => {
  await execa("sh", ["docker/images/busybox/build.sh", IMAGE]);
  // The helper is the container's first instruction, as with `sso-docker run … aws s3 ls`.
  const helper = `sh ${RUN_LAYOUT.helperPath} ${RUN_LAYOUT.secret.dir}/app.json`;
  const image = await engine.inspectImage(IMAGE);
  const { volume } = await prepareRunVolume(
    engine,
    { name: IMAGE, id: image?.id ?? IMAGE },
    renderStaticFiles([{ name: "app" }], RUN_LAYOUT),
    { shells: [], volumes: [] },
  );
  const [root, stopped, runShaped, ...started] = await Promise.all([
    run(["--tmpfs", "/run/sso-docker"]),
    run([], ["true"]),
    execa("docker", [
      "create",
      ...deliveryOptions(["app"], volume, grantFor(randomBytes(32), ["app"])),
      ...["--user", "dev", "--label", "sso-docker.test=1", "--label", RUN],
      ...[IMAGE, "sh", "-c", `${helper} >/tmp/app.out 2>&1; echo $? >/tmp/app.rc; exec sleep 600`],
    ]),
    ...cases.map((c) => run(c.args)),
  ]);
  extra = { root, stopped, runShaped: runShaped.stdout.trim() };
  cases.forEach((c, i) => ids.set(c.title, started[i]!));
});

afterAll(async () => {
  const all = (await execa("docker", ["ps", "-aq", "--filter", `label=${RUN}`])).stdout
    .split("\n")
    .filter(Boolean);
  if (all.length > 0) await execa("docker", ["rm", "-f", ...all]);
});

describe("pushCredentials into busybox containers", () => {
  // Separate containers: the four run side by side (the tests after them run alone, in order).
  it.concurrent.for(cases)(
    "$title: 0600 files of the user in a root 0711 tmpfs dir, nothing secret outside",
    async (c, { expect }) => {
      const id = ids.get(c.title)!;
      const p = profile("dev.admin");
      const result = await pushCredentials(engine, id, [p]);
      const { dir, mount } = c.layout.secret;
      expect(result).toMatchObject({
        secretDir: dir,
        uid: c.uid,
        gid: c.uid,
        profiles: ["dev.admin"],
        warnings: [],
      });

      const facts = await engine.exec(id, {
        cmd: [
          "/bin/sh",
          "-c",
          `stat -c '%a %u %g %n' "$1" "$1"/*; awk -v m="$2" '$2 == m { print $3 }' /proc/mounts`,
          "sh",
          dir,
          mount,
        ],
        user: "0:0",
      });
      const own = `${c.uid} ${c.uid}`;
      expect(facts.stdout.split("\n")).toEqual([
        `711 0 0 ${dir}`,
        `600 ${own} ${dir}/credentials`,
        `600 ${own} ${dir}/dev.admin.json`,
        "tmpfs",
        "",
      ]);

      // What an SDK does: run the profile's credential_process through a shell, as the container's user.
      const cp = await credentialProcessOf(id, "dev.admin", c.layout);
      expect(JSON.parse((await sh(id, cp, "")).stdout)).toEqual(jsonOf(p));
      expect(await credentialProcessOf(id, "default", c.layout)).toBe(cp);

      const link = await sh(id, `readlink ${c.home ?? "/root"}/.aws/config`);
      expect(link.stdout.trim()).toBe(c.home === undefined ? "" : c.layout.configPath);

      // The config and helper land in the writable layer only without a tmpfs at /run/sso-docker;
      // Docker itself adds the empty mount point; no secret path appears in the layer.
      const diff = (await execa("docker", ["diff", id])).stdout;
      if (c.layout === SHM_LAYOUT) expect(diff).toMatch(/\/etc\/sso-docker\/config/);
      else expect(diff).not.toMatch(/sso-docker\//);
      expect(diff).not.toMatch(/\/run\/sso-docker\/|\/dev\/shm\//);
      const inspect = (await execa("docker", ["inspect", id])).stdout;
      for (const secret of secretsOf(p)) expect(inspect).not.toContain(secret);
    },
  );

  it("keeps secrets out of `docker export` and `docker logs`", async () => {
    const id = ids.get(cases[0]!.title)!;
    const p = profile("exported");
    await pushCredentials(engine, id, [p]);
    const exported = await execa("docker", ["export", id], { encoding: "buffer" });
    const logs = await execa("docker", ["logs", id]);
    for (const secret of secretsOf(p)) {
      expect(Buffer.from(exported.stdout).includes(secret)).toBe(false);
      expect(logs.stdout + logs.stderr).not.toContain(secret);
    }
  });

  it("gives each of two profiles (dotted, with @) its own credentials, and drops one no longer asked for", async () => {
    const id = ids.get(cases[1]!.title)!;
    const a = profile("team.dev.admin");
    const b = profile("me@corp.ro");
    await pushCredentials(engine, id, [a, b]);
    for (const p of [a, b]) {
      const out = await sh(id, await credentialProcessOf(id, p.name, SHM_LAYOUT), "");
      expect(JSON.parse(out.stdout)).toEqual(jsonOf(p));
    }
    const creds = await sh(id, "cat /dev/shm/sso-docker/credentials", "");
    expect(creds.stdout).toContain(`[me@corp.ro]\naws_access_key_id = ${b.credentials.accessKeyId}\n`);

    await pushCredentials(engine, id, [a]);
    const left = await sh(id, "ls /dev/shm/sso-docker");
    expect(left.stdout.split("\n").filter(Boolean)).toEqual(["credentials", "team.dev.admin.json"]);
    expect((await sh(id, "cat /dev/shm/sso-docker/credentials")).stdout).not.toContain("me@corp.ro");
  });

  it("owns the files by an override user (Dev Containers remoteUser), name:group included", async () => {
    const result = await pushCredentials(engine, extra.root, [profile("p")], { user: "dev:dev" });
    expect(result).toMatchObject({ uid: 1000, gid: 1000 });
    expect((await sh(extra.root, "stat -c '%u:%g %a' /run/sso-docker/secrets/p.json")).stdout).toBe(
      "1000:1000 600\n",
    );
    await expect(pushCredentials(engine, extra.root, [profile("p")], { user: "ghost" })).rejects.toThrow(
      /Cannot find the user "ghost" of container .*ghost is not in \/etc\/passwd/,
    );
  });

  it("leaves a user's own ~/.aws/config alone and says so", async () => {
    const id = ids.get(cases[1]!.title)!;
    await sh(id, "rm -f /home/dev/.aws/config; echo '[profile mine]' > /home/dev/.aws/config", "dev");
    const result = await pushCredentials(engine, id, [profile("p")]);
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /has its own «\/home\/dev\/\.aws\/config», left alone; .* AWS_CONFIG_FILE=\/etc\/sso-docker\/config/,
      ),
    ]);
    expect((await sh(id, "cat /home/dev/.aws/config")).stdout).toBe("[profile mine]\n");
  });

  it("a helper run as the first instruction of a container shaped as sso-docker run's, as a non-root user, waits for the first push", async () => {
    await execa("docker", ["start", extra.runShaped]);
    const p = profile("app");
    expect(await pushCredentials(engine, extra.runShaped, [p])).toMatchObject({ uid: 1000, warnings: [] });
    const out = await sh(
      extra.runShaped,
      "until [ -f /tmp/app.rc ]; do sleep 0.05; done; cat /tmp/app.rc /tmp/app.out",
    );
    const [rc, json = ""] = out.stdout.split("\n");
    expect(rc).toBe("0");
    expect(JSON.parse(json)).toEqual(jsonOf(p));
  });

  it("a non-root helper polling while the first push creates the secret dir waits, never calling it another user's", async () => {
    // Debian's dash runs chown from PATH (busybox would use its own applet): a slow one, first
    // on the push script's PATH, holds the push between writing the files and giving them to dev.
    const { debianAws } = await ensureTestImages();
    const id = (
      await execa("docker", [
        ...["run", "-d", "--label", "sso-docker.test=1", "--label", RUN],
        ...[
          "--tmpfs",
          "/run/sso-docker:mode=1777",
          "--user",
          "dev",
          "--entrypoint",
          "sleep",
          debianAws,
          "600",
        ],
      ])
    ).stdout.trim();
    const slowChown = `printf '#!/bin/sh\\nsleep 1\\nexec /usr/bin/chown "$@"\\n' > /usr/sbin/chown && chmod 755 /usr/sbin/chown`;
    expect((await sh(id, slowChown)).exitCode).toBe(0);
    const json = `${RUN_LAYOUT.secret.dir}/gap.json`;
    const helper = engine.exec(id, { cmd: ["/bin/sh", "-c", HELPER_SCRIPT, "sh", json], user: "" });
    const p = profile("gap");
    await pushCredentials(engine, id, [p]);
    const read = await helper;
    expect(read.stderr).toBe("");
    expect(read.exitCode).toBe(0);
    expect(JSON.parse(read.stdout)).toEqual(jsonOf(p));
  });

  it("wipe removes every secret, keeps the config and helper, and the helper then says so", async () => {
    const id = ids.get(cases[2]!.title)!;
    await pushCredentials(engine, id, [profile("w1"), profile("w.2")]);
    expect(await wipeCredentials(engine, id)).toMatchObject({ wiped: true });
    expect((await sh(id, "ls -A /run/sso-docker /run/sso-docker/etc")).stdout).toBe(
      "/run/sso-docker:\netc\n\n/run/sso-docker/etc:\nconfig\ncredential-process\n",
    );
    const helper = await sh(id, await credentialProcessOf(id, "w1", RUN_LAYOUT), "", [
      "SSO_DOCKER_WAIT_SECONDS=0",
    ]);
    expect(helper.exitCode).toBe(1);
    expect(helper.stderr).toMatch(/^sso-docker: no credentials for profile w1 in this container yet/);

    await execa("docker", ["wait", extra.stopped]);
    expect(await wipeCredentials(engine, extra.stopped)).toMatchObject({ wiped: false });
    await expect(pushCredentials(engine, extra.stopped, [profile("p")])).rejects.toThrow(/is not running/);
  });
});
