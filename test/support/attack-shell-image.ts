import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

/**
 * An image whose /bin/sh is bash and whose user `dev` (uid 1000) owns recorders that log the uid
 * they run as to RECORD_LOG, one line each ("UID KIND"): a PATH dir of commands, a BASH_ENV/ENV
 * file and an LD_PRELOAD library (compiled here with the host's gcc: Debian 12, as the image).
 * RECORDER_ENV, given to a container, points its shells at all of them and adds bash functions in
 * place of commands. A root process that honours any of it writes a line starting with "0 ".
 */
export const RECORD_LOG = "/tmp/rec/log";

const COMMANDS = ["cat", "mv", "chown", "chmod", "mkdir", "rm", "ln", "ls", "sh", "stat", "sleep"];

// Regular builtins too: a function of that name comes before them, even in bash's POSIX mode.
const FUNCTIONS = ["mv", "chown", "chmod", "mkdir", "rm", "ln", "cat", "ls", "read", "cd"];

export const RECORDER_ENV: Readonly<Record<string, string>> = {
  PATH: "/home/dev/bin:/usr/local/bin:/usr/bin:/bin",
  BASH_ENV: "/home/dev/env.sh",
  ENV: "/home/dev/env.sh",
  LD_PRELOAD: "/home/dev/rec.so",
  ...Object.fromEntries(
    FUNCTIONS.map((name) => [
      `BASH_FUNC_${name}%%`,
      `() { /home/dev/record func:${name}; builtin command ${name} "$@"; }`,
    ]),
  ),
};

const FILES: Record<string, string> = {
  "rec.c": `#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void record(void) {
  FILE *f = fopen("${RECORD_LOG}", "a");
  if (f) { fprintf(f, "%u preload\\n", (unsigned) getuid()); fclose(f); }
}
`,
  record: `#!/usr/bin/dash\necho "$(/usr/bin/id -u) $1" >> ${RECORD_LOG}\n`,
  recorder: `#!/usr/bin/dash\n/home/dev/record "path:\${0##*/}"\nexec "/usr/bin/\${0##*/}" "$@"\n`,
  "env.sh": `/home/dev/record env\n`,
  Dockerfile: `ARG BASE
FROM $BASE
COPY rec.so record recorder env.sh /home/dev/
RUN ln -sf bash /usr/bin/sh && mkdir -p /home/dev/bin /tmp/rec && chmod 1777 /tmp/rec \\
 && for c in ${COMMANDS.join(" ")}; do ln -s ../recorder /home/dev/bin/$c; done \\
 && chmod 755 /home/dev/record /home/dev/recorder && chown -R dev:dev /home/dev
`,
};

/** Builds the image from `base` (debian-aws) unless a build of the same inputs exists; returns its tag. */
export async function buildAttackShellImage(base: string): Promise<string> {
  const hash = createHash("sha256").update(base).update(JSON.stringify(FILES)).digest("hex").slice(0, 12);
  const tag = `sso-docker-test/attack-shell:${hash}`;
  if ((await execa("docker", ["image", "inspect", tag], { reject: false })).exitCode === 0) return tag;
  const dir = await mkdtemp(join(tmpdir(), "sso-docker-attack-image-"));
  try {
    for (const [name, content] of Object.entries(FILES)) await writeFile(join(dir, name), content);
    await execa("gcc", ["-shared", "-fPIC", "-O2", "-o", join(dir, "rec.so"), join(dir, "rec.c")]);
    await execa("docker", ["build", "-q", "--build-arg", `BASE=${base}`, "-t", tag, dir], {
      env: { DOCKER_BUILDKIT: "0" },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return tag;
}
