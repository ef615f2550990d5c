import { describe, expect, it } from "vitest";
import type { ContainerDetails, DockerEngine, ExecRequest, ExecResult } from "../docker/engine.js";
import { DockerError, ProfileError } from "../runtime/errors.js";
import type { DeliveryProfile } from "./profile-files.js";
import { pushCredentials } from "./push-credentials.js";
import { fakeEngine as unusedEngine } from "../../test/support/fake-engine.js";

// Unit level, with a fake engine: what is sent and how script outcomes read. The real-engine
// behaviour is in test/delivery*.test.ts.
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN==";
const dev: DeliveryProfile = {
  name: "dev",
  credentials: {
    accessKeyId: "ASIAEXAMPLE",
    secretAccessKey: SECRET,
    sessionToken: TOKEN,
    expiration: new Date(),
  },
};

function container(overrides: Partial<ContainerDetails> = {}): ContainerDetails {
  return {
    id: "c0ffee",
    name: "web",
    image: "img",
    user: "dev",
    env: {},
    labels: {},
    running: true,
    paused: false,
    ipcMode: "private",
    tmpfsTargets: ["/run/sso-docker/"],
    readOnlyMounts: [],
    ...overrides,
  };
}

function fakeEngine(result: ExecResult): DockerEngine & { requests: ExecRequest[] } {
  const requests: ExecRequest[] = [];
  const exec = (_id: string, request: ExecRequest) => {
    requests.push(request);
    return Promise.resolve(result);
  };
  return { ...unusedEngine({ exec }), requests };
}

const ok = { exitCode: 0, stdout: "user 1000 1000\n", stderr: "" };

describe("pushCredentials (fake engine)", () => {
  it("runs one root /bin/sh -s whose stdin alone carries the secrets", async () => {
    const engine = fakeEngine(ok);
    const result = await pushCredentials(engine, container(), [dev]);
    expect(result).toEqual({
      containerId: "c0ffee",
      containerName: "web",
      secretDir: "/run/sso-docker/secrets",
      uid: 1000,
      gid: 1000,
      profiles: ["dev"],
      warnings: [],
    });
    const [request] = engine.requests;
    expect(engine.requests).toHaveLength(1);
    expect(request?.cmd).toEqual(["/bin/sh", "-s"]);
    expect(request?.user).toBe("0:0");
    expect(request?.env).toEqual(expect.arrayContaining(["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "BASH_ENV="]));
    expect(String(request?.stdin)).toContain(SECRET);
    expect(String(request?.stdin)).toMatch(/^U='dev'$/m);
    // Root only looks at ~/.aws: the link is made as the user, when asked for (below).
    expect(String(request?.stdin)).not.toContain("ln -s");
    expect(String(request?.stdin)).toContain("link-aws-config $home");
  });

  it("empties every variable the container's config sets in the root exec's environment", async () => {
    const engine = fakeEngine(ok);
    const env = { LD_PRELOAD: "/home/dev/x.so", "BASH_FUNC_mv%%": "() { id; }", PATH: "/home/dev/bin:/bin" };
    await pushCredentials(engine, container({ env }), [dev]);
    const sent = engine.requests[0]?.env ?? [];
    expect(sent).toEqual(expect.arrayContaining(["LD_PRELOAD=", "BASH_FUNC_mv%%=", "ENV=", "SHELLOPTS="]));
    expect(sent.filter((e) => e.startsWith("PATH="))).toEqual(["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);
    expect(sent.join("\n")).not.toMatch(/home\/dev|id;/);
  });

  it("links ~/.aws/config in a second exec as the user, only when the root push asks for it", async () => {
    const requests: ExecRequest[] = [];
    const outputs: ExecResult[] = [
      { exitCode: 0, stdout: "link-aws-config /home/my dev\nuser 1000 1001\n", stderr: "" },
      { exitCode: 0, stdout: "warn aws-config-link-failed /home/my dev/.aws/config\n", stderr: "" },
    ];
    const engine = unusedEngine({
      exec: (_id: string, request: ExecRequest) => {
        requests.push(request);
        return Promise.resolve(outputs[requests.length - 1]!);
      },
    });
    const result = await pushCredentials(engine, container(), [dev]);
    expect(requests.map((r) => r.user)).toEqual(["0:0", "1000:1001"]);
    const script = String(requests[1]?.stdin);
    expect(script).toMatch(/^home='\/home\/my dev'$/m);
    expect(script).toContain("ln -s '/run/sso-docker/etc/config' \"$home/.aws/config\"");
    expect(script).not.toContain(SECRET);
    expect(requests[1]?.env).toEqual(requests[0]?.env);
    expect(result.warnings).toEqual([
      "Could not link «/home/my dev/.aws/config» in container web to /run/sso-docker/etc/config; to use the synced profiles, set AWS_CONFIG_FILE=/run/sso-docker/etc/config in it.",
    ]);
  });

  it("leaves the config and helper of an sso-docker run container (its read-only volume) alone", async () => {
    const engine = fakeEngine(ok);
    await pushCredentials(
      engine,
      container({
        readOnlyMounts: ["/run/sso-docker/etc"],
        env: { AWS_CONFIG_FILE: "/run/sso-docker/etc/config" },
      }),
      [dev],
    );
    const script = String(engine.requests[0]?.stdin);
    expect(script).toContain(SECRET);
    expect(script).not.toContain("credential-process");
    expect(script).not.toContain("/run/sso-docker/etc");
  });

  it("skips the ~/.aws/config link when AWS_CONFIG_FILE is set, and warns if it points elsewhere", async () => {
    const engine = fakeEngine({
      ...ok,
      stdout: "warn aws-config-exists /home/dev/.aws/config\nuser 1000 1000\n",
    });
    const result = await pushCredentials(
      engine,
      container({ env: { AWS_CONFIG_FILE: "/work/aws.cfg" } }),
      [dev],
      {
        user: "root",
      },
    );
    expect(String(engine.requests[0]?.stdin)).not.toContain("ln -s");
    expect(String(engine.requests[0]?.stdin)).toMatch(/^U='root'$/m);
    expect(result.warnings).toEqual([
      "Container web sets AWS_CONFIG_FILE=/work/aws.cfg, so its AWS tools do not see the synced profiles in /run/sso-docker/etc/config.",
      expect.stringContaining("has its own «/home/dev/.aws/config», left alone"),
    ]);
  });

  it("turns script exit codes into messages naming the container, never echoing a secret", async () => {
    const cases: [ExecResult, RegExp][] = [
      [
        { exitCode: 11, stdout: "", stderr: "sso-docker: /run/sso-docker is not a tmpfs mount\n" },
        /web has no tmpfs/,
      ],
      [
        { exitCode: 10, stdout: "", stderr: "sso-docker: user dev is not in /etc/passwd\n" },
        /user "dev" of container web/,
      ],
      [
        { exitCode: 126, stdout: "OCI runtime exec failed: stat /bin/sh", stderr: "" },
        /web has no POSIX shell/,
      ],
      [
        { exitCode: 2, stdout: "", stderr: `sh: syntax error near '${SECRET}' ${TOKEN}` },
        /web failed \(exit 2\)/,
      ],
    ];
    for (const [result, message] of cases) {
      const error = (await pushCredentials(fakeEngine(result), container(), [dev]).catch(
        (e: unknown) => e,
      )) as DockerError;
      expect(error).toBeInstanceOf(DockerError);
      expect(error.message).toMatch(message);
      expect(`${error.message} ${error.hint ?? ""}`).not.toMatch(/EXAMPLEKEY|EXAMPLETOKEN/);
    }
  });

  it("refuses without an exec: paused, no profiles, a profile twice", async () => {
    const engine = fakeEngine(ok);
    await expect(pushCredentials(engine, container({ paused: true }), [dev])).rejects.toThrow(
      "Container web is paused.",
    );
    await expect(pushCredentials(engine, container(), [])).rejects.toThrow(ProfileError);
    await expect(pushCredentials(engine, container(), [dev, dev])).rejects.toThrow(/listed twice/);
    expect(engine.requests).toHaveLength(0);
  });
});
