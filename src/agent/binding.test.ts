import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkBinding } from "./binding.js";
import { grantFor } from "./grant.js";

const key = randomBytes(32);
const theirKey = randomBytes(32);
const uid = process.getuid?.() ?? 0;
let dir: string;
let devcontainerJson: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sso-docker-binding-"));
  devcontainerJson = join(dir, "devcontainer.json");
  await writeFile(devcontainerJson, '{ "features": { "ghcr.io/o/r/sso-docker:0": { "profiles": "dev" } } }');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const container = (labels: Record<string, string> = {}, env: Record<string, string> = {}) => ({
  name: "box",
  labels,
  env,
});
const byLabel = (...profiles: string[]) => ({ profiles, source: "label" });

describe("checkBinding", () => {
  it("binds a container whose grant is this user's for exactly its profiles (label or env)", async () => {
    const grant = grantFor(key, ["dev", "ops"]);
    expect(
      await checkBinding(container({ "sso-docker.grant": grant }), byLabel("dev", "ops"), key, uid),
    ).toEqual({
      bound: true,
      via: "grant",
    });
    expect(
      await checkBinding(
        container({}, { SSO_DOCKER_GRANT: grant }),
        { profiles: ["dev", "ops"], source: "env" },
        key,
      ),
    ).toEqual({ bound: true, via: "grant" });
  });

  it("leaves another user's container alone quietly, and warns when this user's grant was edited", async () => {
    const theirs = await checkBinding(
      container({ "sso-docker.grant": grantFor(theirKey, ["dev"]) }),
      byLabel("dev"),
      key,
    );
    expect(theirs).toMatchObject({ bound: false, level: "debug", status: "another user's" });
    const widened = await checkBinding(
      container({ "sso-docker.grant": grantFor(key, ["dev"]) }),
      byLabel("dev", "admin"),
      key,
    );
    expect(widened).toMatchObject({
      bound: false,
      level: "warn",
      status: "grant does not match its profiles",
    });
    expect(widened.bound || widened.message).toContain("container box asks for «dev,admin»");
    expect(widened.bound || widened.message).toContain("sso-docker grant --profile dev --profile admin");
  });

  it("does not supply a container without a grant, and says which command prints one", async () => {
    const none = await checkBinding(container(), byLabel("dev"), key);
    expect(none).toEqual({
      bound: false,
      level: "info",
      message:
        "container box asks for «dev» but carries no grant (sso-docker.grant); not supplied. To supply it, create it with `docker run $(sso-docker grant --profile dev) …` (compose: the labels `sso-docker grant --profile dev` prints)",
      status: "not granted",
    });
    const odd = await checkBinding(container(), byLabel("a b\u001b[1m"), key);
    expect(odd.bound || odd.message).toContain("asks for «a b\\x1b[1m»");
    expect(odd.bound || odd.message).toContain("sso-docker grant --profile NAME");
  });

  it("binds a Dev Container through this user's devcontainer.json that gives the Feature its profiles", async () => {
    const dev = container({ "devcontainer.config_file": devcontainerJson }, { SSO_DOCKER_FEATURE: "1" });
    const feature = (...profiles: string[]) => ({ profiles, source: "devcontainer-feature" });
    expect(await checkBinding(dev, feature("dev"), key, uid)).toEqual({
      bound: true,
      via: "devcontainer.json",
    });
    expect(await checkBinding(dev, undefined, key, uid)).toEqual({ bound: true, via: "devcontainer.json" });
    expect(await checkBinding(dev, feature("dev", "admin"), key, uid)).toMatchObject({
      bound: false,
      level: "info",
      status: "devcontainer.json does not grant it",
    });
    expect(await checkBinding(dev, feature("dev"), key, uid + 1)).toMatchObject({ bound: false });
    const elsewhere = container({ "devcontainer.config_file": join(dir, "nope.json") });
    expect(await checkBinding(elsewhere, feature("dev"), key, uid)).toMatchObject({ bound: false });
  });

  it("lets a grant decide over a devcontainer.json label", async () => {
    const both = container({
      "devcontainer.config_file": devcontainerJson,
      "sso-docker.grant": grantFor(theirKey, ["dev"]),
    });
    expect(await checkBinding(both, byLabel("dev"), key, uid)).toMatchObject({
      bound: false,
      level: "debug",
    });
  });
});
