import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushCredentials } from "../src/delivery/push-credentials.js";
import type { DeliveryProfile } from "../src/delivery/profile-files.js";
import { chooseLayout } from "../src/delivery/secret-dir.js";
import { createDockerEngine } from "../src/docker/engine.js";
import { DockerError } from "../src/runtime/errors.js";

// Real engine: every container carries sso-docker.test=1 and this file's run id, swept in afterAll.
const IMAGE = "sso-docker-test/busybox:1";
const RUN = `sso-docker.test.run=${randomUUID()}`;
const engine = createDockerEngine({ env: process.env, home: process.env["HOME"] ?? "/root" });

// Every secret of this file carries the marker, so one search finds any of them.
const MARKER = `LEAK${randomBytes(6).toString("hex")}`;
function profile(name: string): DeliveryProfile {
  const tag = randomBytes(9).toString("base64url");
  return {
    name,
    credentials: {
      accessKeyId: `ASIA${tag.toUpperCase()}`,
      secretAccessKey: `${MARKER}/${tag}`,
      sessionToken: `${MARKER}+${tag}${"t".repeat(600)}==`,
      expiration: new Date(Date.now() + 3600_000),
    },
  };
}

async function run(
  args: readonly string[],
  cmd: readonly string[] = ["sleep", "600"],
  image = IMAGE,
): Promise<string> {
  const out = await execa("docker", [
    "run",
    "-d",
    "--label",
    "sso-docker.test=1",
    "--label",
    RUN,
    ...args,
    image,
    ...cmd,
  ]);
  return out.stdout.trim();
}

async function sh(id: string, script: string, user = "0:0") {
  return engine.exec(id, { cmd: ["/bin/sh", "-c", script], user });
}

let box: { tmpfs: string; shm: string; host: string; shareable: string; joined: string; noShell: string };
beforeAll(async () => {
  await execa("sh", ["docker/images/busybox/build.sh", IMAGE]);
  const noShellImage = (await execa("sh", ["docker/images/no-shell/build.sh"])).stdout.trim();
  const [tmpfs, shm, host, [shareable, joined], noShell] = await Promise.all([
    run(["--tmpfs", "/run/sso-docker", "--user", "dev"]),
    run(["--user", "dev"]),
    run(["--ipc", "host"]),
    run(["--ipc", "shareable"]).then(async (id) => [id, await run(["--ipc", `container:${id}`])] as const),
    run([], [], noShellImage),
  ]);
  box = { tmpfs, shm, host, shareable, joined, noShell };
});

afterAll(async () => {
  const all = (await execa("docker", ["ps", "-aq", "--filter", `label=${RUN}`])).stdout
    .split("\n")
    .filter(Boolean);
  if (all.length > 0) await execa("docker", ["rm", "-f", ...all]);
});

// Reads the JSON in a loop with `cat`, as the helper does, counting reads that are not whole.
// Both loops renice themselves so the pushes being tested are not starved on a small machine.
const READER = `renice -n 19 -p $$ >/dev/null; n=0 bad=0
while [ ! -f /tmp/stop ]; do
  c=$(cat /run/sso-docker/secrets/p.json)
  case $c in '{"Version":1,"AccessKeyId":"ASIA'*'"}') ;; *) bad=$((bad + 1)) ;; esac
  n=$((n + 1))
done
echo "$n $bad" > /tmp/reader.tmp && mv /tmp/reader.tmp /tmp/reader`;
// Scans every process's arguments in the container; the marker is split so this script's own does not match.
const SCANNER = `renice -n 19 -p $$ >/dev/null; m=LEAK; m="$m$1"; hits=0
while [ ! -f /tmp/stop ]; do
  for f in /proc/[0-9]*/cmdline; do a=$(tr '\\0' ' ' < "$f" 2>/dev/null); case $a in *"$m"*) hits=$((hits + 1)) ;; esac; done
done
echo "$hits" > /tmp/scanner.tmp && mv /tmp/scanner.tmp /tmp/scanner`;

describe("delivery safety against a real engine", () => {
  it(
    "a reader looping during 50 pushes (5 at a time) never sees partial or empty JSON",
    { timeout: 60_000 },
    async () => {
      const id = box.tmpfs;
      const details = await engine.inspectContainer(id); // reused, as the agent does
      await pushCredentials(engine, details, [profile("p")]);
      await execa("docker", ["exec", "-d", id, "sh", "-c", READER]);
      // Concurrent pushes also race each other (the agent and `sso-docker run` can): none may fail.
      const last: DeliveryProfile[] = [];
      for (let round = 0; round < 10; round++) {
        const batch = Array.from({ length: 5 }, () => profile("p"));
        await Promise.all(batch.map((p) => pushCredentials(engine, details, [p])));
        last.splice(0, last.length, ...batch);
      }
      const done = await sh(
        id,
        "touch /tmp/stop; until [ -f /tmp/reader ]; do sleep 0.05; done; cat /tmp/reader; rm /tmp/stop",
      );
      const [reads = 0, partial = -1] = done.stdout.split(/\s+/).map(Number);
      expect(partial).toBe(0);
      expect(reads).toBeGreaterThan(50);
      const final = JSON.parse((await sh(id, "cat /run/sso-docker/secrets/p.json")).stdout) as {
        AccessKeyId: string;
      };
      expect(last.map((p) => p.credentials.accessKeyId)).toContain(final.AccessKeyId);
    },
  );

  it("first pushes racing into a fresh container (the agent and sso-docker run can) all succeed", async () => {
    for (const args of [
      ["--user", "dev"],
      ["--tmpfs", "/run/sso-docker", "--user", "dev"],
    ]) {
      const id = await run(args);
      const details = await engine.inspectContainer(id);
      const pushes = Array.from({ length: 6 }, () => profile("p"));
      const results = await Promise.allSettled(pushes.map((p) => pushCredentials(engine, details, [p])));
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      const json = (await sh(id, `cat ${chooseLayout(details).secret.dir}/p.json`, "dev")).stdout;
      expect(pushes.map((p) => JSON.stringify(p.credentials.accessKeyId))).toContain(
        JSON.stringify((JSON.parse(json) as { AccessKeyId: string }).AccessKeyId),
      );
    }
  });

  it("no secret appears in any process's arguments, in the container or on the host, during pushes", async () => {
    const id = box.tmpfs;
    await execa("docker", ["exec", "-d", id, "sh", "-c", SCANNER, "sh", MARKER.slice(4)]);
    const scan = { pushing: true };
    const hostArgs: string[] = [];
    const hostScan = (async () => {
      while (scan.pushing) hostArgs.push((await execa("ps", ["-eo", "args"])).stdout);
    })();
    for (let i = 0; i < 10; i++) await pushCredentials(engine, id, [profile("p")]);
    scan.pushing = false;
    await hostScan;
    const done = await sh(
      id,
      "touch /tmp/stop; until [ -f /tmp/scanner ]; do sleep 0.05; done; cat /tmp/scanner",
    );
    expect(Number(done.stdout)).toBe(0);
    expect(hostArgs.length).toBeGreaterThan(3);
    expect(hostArgs.join("\n")).not.toContain(MARKER);
  });

  it("refuses a container sharing the host's /dev/shm, writing nothing", async () => {
    const name = (await engine.inspectContainer(box.host)).name;
    const error = (await pushCredentials(engine, box.host, [profile("p")]).catch(
      (e: unknown) => e,
    )) as DockerError;
    expect(error).toBeInstanceOf(DockerError);
    expect(error.message).toBe(
      `Container ${name} has no private /dev/shm (--ipc=host), so sso-docker will not put credentials in it.`,
    );
    expect(error.hint).toMatch(/--tmpfs \/run\/sso-docker/);
    expect((await sh(box.host, "ls -d /etc/sso-docker /dev/shm/sso-docker")).exitCode).not.toBe(0);
    expect(existsSync("/dev/shm/sso-docker")).toBe(false);
  });

  it("refuses a container joined to another's IPC namespace, accepts the shareable one itself", async () => {
    await expect(pushCredentials(engine, box.joined, [profile("p")])).rejects.toThrow(/--ipc=container:/);
    await expect(pushCredentials(engine, box.shareable, [profile("p")])).resolves.toMatchObject({
      secretDir: "/dev/shm/sso-docker",
    });
  });

  it("says an image without /bin/sh cannot take credentials", async () => {
    const error = (await pushCredentials(engine, box.noShell, [profile("p")]).catch(
      (e: unknown) => e,
    )) as DockerError;
    expect(error).toBeInstanceOf(DockerError);
    expect(error.message).toMatch(/^Container .+ has no POSIX shell at \/bin\/sh/);
    expect(error.message + (error.hint ?? "")).not.toContain(MARKER);
  });

  it("never follows a link the container's user planted in place of the secret dir, and makes its own", async () => {
    await sh(box.shm, "ln -s /etc /dev/shm/sso-docker", "dev");
    await expect(pushCredentials(engine, box.shm, [profile("p")])).resolves.toMatchObject({ uid: 1000 });
    expect((await sh(box.shm, "stat -c '%u %g %a' /etc; ls /etc | grep -c json")).stdout).toBe(
      "0 0 755\n0\n",
    );
    expect((await sh(box.shm, "stat -c '%F %u %a' /dev/shm/sso-docker")).stdout).toBe("directory 0 711\n");
  });
});
