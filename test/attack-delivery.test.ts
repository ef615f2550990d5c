import { createHash, randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryProfile } from "../src/delivery/profile-files.js";
import { pushCredentials } from "../src/delivery/push-credentials.js";
import { wipeCredentials } from "../src/delivery/wipe-credentials.js";
import { createDockerEngine } from "../src/docker/engine.js";
import { startContainer, sweepTestContainersAfterAll, type TestContainer } from "./support/docker.js";
import { ensureTestImages, IMAGE_BUILD_TIMEOUT_MS, type TestImages } from "./support/images.js";
import { buildAttackShellImage, RECORD_LOG, RECORDER_ENV } from "./support/attack-shell-image.js";

// Code in a container (its user, or root in it) attacks sso-docker's root execs: links planted to
// make a push write into a bind-mounted host directory, and a shell environment that runs the
// user's code. Each test performs the attack against the real engine and checks the host and the
// container afterwards.
sweepTestContainersAfterAll();
const engine = createDockerEngine({ env: process.env, home: process.env["HOME"] ?? "/root" });
const SHM = "/dev/shm/sso-docker";

let images: TestImages;
const hostDirs: string[] = [];
beforeAll(async () => {
  images = await ensureTestImages();
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(async () => {
  await Promise.all(hostDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function profile(name: string): DeliveryProfile {
  const tag = randomBytes(9).toString("base64url");
  return {
    name,
    credentials: {
      accessKeyId: `ASIA${tag.toUpperCase().replace(/[^A-Z0-9]/g, "X")}`,
      secretAccessKey: `secret/${tag}`,
      sessionToken: `token+${tag}==`,
      expiration: new Date(Date.now() + 3600_000),
    },
  };
}
const jsonOf = (p: DeliveryProfile) =>
  JSON.stringify({
    Version: 1,
    AccessKeyId: p.credentials.accessKeyId,
    SecretAccessKey: p.credentials.secretAccessKey,
    SessionToken: p.credentials.sessionToken,
    Expiration: p.credentials.expiration.toISOString().replace(/\.\d{3}Z$/, "Z"),
  });

/** A host directory the container sees at /work, writable by its user, holding a file and a dir. */
async function hostWorkspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sso-docker-attack-"));
  hostDirs.push(dir);
  await writeFile(join(dir, "victim"), "host data, not to be touched\n");
  await mkdir(join(dir, "sub"));
  await chmod(dir, 0o777);
  await chmod(join(dir, "sub"), 0o777);
  return dir;
}

/** Every entry under `dir` with its type, owner, mode, size, mtime, content hash or link target. */
async function snapshot(dir: string, rel = "."): Promise<string[]> {
  const out: string[] = [];
  const path = join(dir, rel);
  const st = await lstat(path);
  const what = st.isSymbolicLink()
    ? `link ${await readlink(path)}`
    : st.isFile()
      ? `file ${createHash("sha256")
          .update(await readFile(path))
          .digest("hex")}`
      : st.isDirectory()
        ? "dir"
        : "other";
  out.push(
    `${rel} ${what} uid=${st.uid} mode=${(st.mode & 0o7777).toString(8)} size=${st.size} mtime=${st.mtimeMs}`,
  );
  if (st.isDirectory() && !st.isSymbolicLink()) {
    for (const name of (await readdir(path)).sort()) out.push(...(await snapshot(dir, join(rel, name))));
  }
  return out;
}

async function sh(c: TestContainer, script: string, user: string) {
  const result = await c.exec(["sh", "-c", script], { user });
  expect({ script, stderr: result.stderr, exitCode: result.exitCode }).toEqual({
    script,
    stderr: "",
    exitCode: 0,
  });
  return result.stdout;
}

/** `stat` of the secret dir and its files, as root: type, owner, mode. */
async function secretFacts(c: TestContainer, names: readonly string[], user = "0"): Promise<string[]> {
  const paths = [SHM, ...names.map((n) => `${SHM}/${n}`)].join(" ");
  return (await sh(c, `stat -c '%F %u %a %n' ${paths}`, user)).split("\n");
}

const expectedFacts = (names: readonly string[]) => [
  `directory 0 711 ${SHM}`,
  ...names.map((n) => `regular file 1000 600 ${SHM}/${n}`),
];

describe("links planted by the container's user before the first push", () => {
  it("to a bind-mounted host dir: nothing lands on the host; the push makes its own root 0711 dir", async () => {
    const host = await hostWorkspace();
    const before = await snapshot(host);
    const c = await startContainer(images.busybox, { user: "dev", args: ["-v", `${host}:/work`] });
    // /dev/shm is world-writable: the user makes the secret dir first, full of links.
    await sh(
      c,
      `mkdir ${SHM} && cd ${SHM} && ln -s /work p.json && ln -s /work credentials && ln -s /work/x .owner`,
      "dev",
    );

    const p = profile("p");
    await pushCredentials(engine, c.id, [p]);

    expect(await snapshot(host)).toEqual(before);
    expect(await secretFacts(c, ["p.json", "credentials"])).toEqual(expectedFacts(["p.json", "credentials"]));
    expect(await sh(c, `cat ${SHM}/p.json`, "dev")).toBe(jsonOf(p));
    // Searchable, not listable: the user reaches a file by name only.
    expect((await c.exec(["ls", SHM], { user: "dev" })).exitCode).not.toBe(0);
  });

  it("to a host file: the file keeps its content", async () => {
    const host = await hostWorkspace();
    const before = await snapshot(host);
    const c = await startContainer(images.busybox, { user: "dev", args: ["-v", `${host}:/work`] });
    await sh(
      c,
      `mkdir ${SHM} && cd ${SHM} && ln -s /work/victim p.json && ln -s /work/victim credentials`,
      "dev",
    );

    const p = profile("p");
    await pushCredentials(engine, c.id, [p]);

    expect(await readFile(join(host, "victim"), "utf8")).toBe("host data, not to be touched\n");
    expect(await snapshot(host)).toEqual(before);
    expect(await secretFacts(c, ["p.json", "credentials"])).toEqual(expectedFacts(["p.json", "credentials"]));
    expect(await sh(c, `cat ${SHM}/p.json`, "dev")).toBe(jsonOf(p));
  });

  it("a subtree the user planted is removed without following its links, by push and by wipe", async () => {
    const host = await hostWorkspace();
    const before = await snapshot(host);
    const c = await startContainer(images.busybox, { user: "dev", args: ["-v", `${host}:/work`] });
    const plant = `mkdir -p ${SHM}/a/b && ln -s /work ${SHM}/a/w && ln -s /work/victim ${SHM}/a/b/v && touch ${SHM}/a/b/f`;
    await sh(c, plant, "dev");
    await pushCredentials(engine, c.id, [profile("p")]);
    expect(await sh(c, `ls -A ${SHM}`, "0")).toBe("credentials\np.json");

    await wipeCredentials(engine, c.id);
    expect((await c.exec(["ls", "-d", SHM], { user: "0" })).exitCode).not.toBe(0);
    await sh(c, plant, "dev");
    expect(await wipeCredentials(engine, c.id)).toMatchObject({ wiped: true });
    expect((await c.exec(["ls", "-d", SHM], { user: "0" })).exitCode).not.toBe(0);
    expect(await snapshot(host)).toEqual(before);
  });
});

describe("root in the container replaces the pushed files by links", () => {
  it.for([
    ["busybox", "busybox mv: no -T onto a link to a dir"],
    ["debianAws", "coreutils mv -T"],
  ] as const)("%s (%s): the next push replaces the links, never writes through them", async ([key]) => {
    const host = await hostWorkspace();
    const before = await snapshot(host);
    const c = await startContainer(images[key], { user: "dev", args: ["-v", `${host}:/work`] });
    await pushCredentials(engine, c.id, [profile("p")]);
    const relink = `cd ${SHM} && rm p.json credentials && ln -s /work p.json && ln -s /work/sub credentials`;
    await sh(c, relink, "0");

    const p = profile("p");
    await pushCredentials(engine, c.id, [p]);

    expect(await snapshot(host)).toEqual(before);
    expect(await secretFacts(c, ["p.json", "credentials"])).toEqual(expectedFacts(["p.json", "credentials"]));
    expect(await sh(c, `cat ${SHM}/p.json`, "dev")).toBe(jsonOf(p));
  });
});

describe("root in the container plants links in the static config dir (/dev/shm layout)", () => {
  it.for([
    ["config -> a host dir", "mkdir -p /etc/sso-docker && ln -s /work/sub /etc/sso-docker/config"],
    [
      "helper -> a host file",
      "mkdir -p /etc/sso-docker && ln -s /work/victim /etc/sso-docker/credential-process",
    ],
    ["/etc/sso-docker -> the host dir", "ln -s /work /etc/sso-docker"],
  ] as const)("%s: the push writes its own files, none on the host", async ([, plant]) => {
    const host = await hostWorkspace();
    const before = await snapshot(host);
    const c = await startContainer(images.busybox, { user: "dev", args: ["-v", `${host}:/work`] });
    await sh(c, plant, "0");

    const p = profile("p");
    await pushCredentials(engine, c.id, [p]);

    expect(await snapshot(host)).toEqual(before);
    const facts =
      "stat -c '%F %u %a %n' /etc/sso-docker /etc/sso-docker/config /etc/sso-docker/credential-process";
    expect((await sh(c, facts, "0")).split("\n")).toEqual([
      "directory 0 755 /etc/sso-docker",
      "regular file 0 644 /etc/sso-docker/config",
      "regular file 0 644 /etc/sso-docker/credential-process",
    ]);
    // What an SDK runs: the profile's credential_process, as the container's user.
    expect(await sh(c, `sh /etc/sso-docker/credential-process ${SHM}/p.json`, "dev")).toBe(jsonOf(p));
  });
});

// Python's os.rename and a RENAME_EXCHANGE through libc: the user swaps ~/.aws between a real dir
// and a link to /work as fast as the kernel allows, keeping the dir free of a config link. At
// nice 19, so that the loop does not starve other suites on a small machine.
const SWAPPER = `
import ctypes, os
os.nice(19)
libc = ctypes.CDLL(None, use_errno=True)
os.chdir("/home/dev")
n = 0
while not os.path.exists("/tmp/stop"):
    if libc.renameat2(-100, b".aws", -100, b".aws-swap", 2) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")
    n += 1
    if n == 1000:
        open("/tmp/swapping", "w").close()
    if os.path.isdir(".aws-swap") and not os.path.islink(".aws-swap"):
        try:
            os.unlink(".aws-swap/config")
        except FileNotFoundError:
            pass
open("/tmp/swapped", "w").write(str(n))
`;

describe("~/.aws/config link in the user's home", () => {
  it("static links: ~/.aws or ~/.aws/config pointing at a host dir get no root-owned file there", async () => {
    const host = await hostWorkspace();
    const before = await snapshot(host);
    const c = await startContainer(images.busybox, { user: "dev", args: ["-v", `${host}:/work`] });
    await sh(c, "rm -rf ~/.aws && ln -s /work ~/.aws", "dev");
    const first = await pushCredentials(engine, c.id, [profile("p")]);
    expect(first.warnings).toEqual([expect.stringMatching(/^Could not link .*\/home\/dev\/\.aws/)]);
    await sh(c, "rm ~/.aws && mkdir ~/.aws && ln -s /work/sub ~/.aws/config", "dev");
    const second = await pushCredentials(engine, c.id, [profile("p")]);
    expect(second.warnings).toEqual([
      expect.stringMatching(/has its own .*\/home\/dev\/\.aws\/config.*, left alone/),
    ]);
    expect(await snapshot(host)).toEqual(before);
  });

  it(
    "a user swapping ~/.aws for a link to a host dir during 30 pushes gets no root-owned file there",
    { timeout: 120_000 },
    async () => {
      const host = await hostWorkspace();
      const before = await snapshot(host);
      const c = await startContainer(images.debianAws, { user: "dev", args: ["-v", `${host}:/work`] });
      await sh(c, "rm -rf ~/.aws ~/.aws-swap && mkdir ~/.aws && ln -s /work ~/.aws-swap", "dev");
      await execa("docker", ["exec", "-d", "-u", "dev", c.id, "python3", "-c", SWAPPER]);
      await sh(
        c,
        "i=0; until [ -f /tmp/swapping ] || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done; [ -f /tmp/swapping ]",
        "dev",
      );

      for (let i = 0; i < 30; i++) await pushCredentials(engine, c.id, [profile("p")]);
      await sh(
        c,
        "touch /tmp/stop; i=0; until [ -f /tmp/swapped ] || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done; [ -f /tmp/swapped ]",
        "dev",
      );

      const known = new Set(before.map((line) => line.split(" ")[0]));
      const added = (await snapshot(host)).filter((line) => !known.has(line.split(" ")[0]));
      // What the user makes with their own rights is theirs to make; root must have made nothing.
      expect(added.filter((line) => line.includes(" uid=0 "))).toEqual([]);
    },
  );
});

describe("the container's environment never runs code as root in a push or a wipe", () => {
  it(
    "a PATH dir, BASH_ENV/ENV files, bash functions and LD_PRELOAD of the user, with bash as /bin/sh",
    { timeout: 120_000 },
    async () => {
      const image = await buildAttackShellImage(images.debianAws);
      const c = await startContainer(image, { user: "dev", env: RECORDER_ENV });
      // Control: every recorder fires when the user's own shells run. Straight to bash: dash (the
      // recorders' shell) drops the functions' variables, whose names are not shell names.
      const own = await c.exec(["bash", "-c", "mv --version >/dev/null; cat /dev/null"], { user: "dev" });
      expect(own).toMatchObject({ exitCode: 0, stderr: "" });
      const control = await sh(c, `cat ${RECORD_LOG}`, "dev");
      for (const kind of ["preload", "env", "func:mv", "func:cat", "path:cat", "path:mv"]) {
        expect(control).toMatch(new RegExp(`^1000 ${kind}$`, "m"));
      }

      const p = profile("p");
      await pushCredentials(engine, c.id, [p]);
      expect(await sh(c, `cat ${SHM}/p.json`, "dev")).toBe(jsonOf(p));
      expect(await wipeCredentials(engine, c.id)).toMatchObject({ wiped: true });

      const log = (await sh(c, `cat ${RECORD_LOG}`, "dev")).split("\n");
      expect(log.filter((line) => !line.startsWith("1000 "))).toEqual([]);
    },
  );
});
