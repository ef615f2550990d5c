import { describe, expect, it } from "vitest";
import type { ContainerDetails } from "../docker/engine.js";
import { DockerError } from "../runtime/errors.js";
import { silentLogger, type Logger } from "../runtime/logger.js";
import { metadataRemoteUser, readFeatureParticipation, resolveParticipation } from "./devcontainer.js";
import { FeatureImageReader } from "./feature-image.js";
import { DEFAULT_RULES } from "./participation.js";
import { imageFilesEngine } from "../../test/support/image-files-engine.js";

const METADATA = JSON.stringify([{ id: "./sso-docker" }, { remoteUser: "root" }, { remoteUser: "dev" }]);

function container(overrides: Partial<ContainerDetails> = {}): ContainerDetails {
  return {
    id: "c1",
    name: "dc",
    image: IMAGE,
    user: "root",
    env: { SSO_DOCKER_FEATURE: "1" },
    labels: { "devcontainer.metadata": METADATA, "devcontainer.local_folder": "/src" },
    running: true,
    paused: false,
    ipcMode: "private",
    tmpfsTargets: [],
    readOnlyMounts: [],
    ...overrides,
  };
}

const IMAGE = `sha256:${"ab12".repeat(16)}`;
const PROFILES = "/etc/sso-docker/profiles";
const USER = "/etc/sso-docker/user";

/** A reader over one image (IMAGE) that holds `files`. */
function imageWith(files: Record<string, string | Error>) {
  const engine = imageFilesEngine({ [IMAGE]: files });
  return { engine, images: new FeatureImageReader(engine) };
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (m) => warnings.push(m) };
}

describe("metadataRemoteUser", () => {
  it("takes the last remoteUser of the merged metadata, as the Dev Containers CLI does", () => {
    expect(metadataRemoteUser({ "devcontainer.metadata": METADATA })).toBe("dev");
    expect(metadataRemoteUser({ "devcontainer.metadata": '{"remoteUser":"vscode"}' })).toBe("vscode");
    expect(metadataRemoteUser({ "devcontainer.metadata": "not json" })).toBeUndefined();
    expect(metadataRemoteUser({})).toBeUndefined();
  });
});

describe("readFeatureParticipation", () => {
  it("reads both files from the container's image: profiles in order, then the owner", async () => {
    const { engine, images } = imageWith({ [PROFILES]: "dev.admin\nteam@corp\n\n", [USER]: "app\n" });
    const participation = await readFeatureParticipation(images, container());
    expect(participation).toEqual({
      profiles: ["dev.admin", "team@corp"],
      user: "app",
      source: "devcontainer-feature",
    });
    expect(engine.calls).toEqual([
      `create ${IMAGE}`,
      `read reader-1 ${PROFILES}`,
      `read reader-1 ${USER}`,
      "remove reader-1",
    ]);
  });

  it("lets the sso-docker.user label override the file, and falls back to remoteUser", async () => {
    const { images } = imageWith({ [PROFILES]: "dev\n", [USER]: "\n" });
    expect((await readFeatureParticipation(images, container())).user).toBe("dev");
    const labelled = container({ labels: { "sso-docker.user": "ops", "devcontainer.metadata": METADATA } });
    expect((await readFeatureParticipation(images, labelled)).user).toBe("ops");
    const { images: withUser } = imageWith({ [PROFILES]: "dev\n", [USER]: "app\n" });
    expect((await readFeatureParticipation(withUser, labelled)).user).toBe("ops");
    expect((await readFeatureParticipation(withUser, container())).user).toBe("app");
  });

  it("names the container and its image when the image has no profiles file", async () => {
    const { images } = imageWith({});
    await expect(readFeatureParticipation(images, container())).rejects.toThrow(
      "container dc (image sha256:ab12ab12ab12) has SSO_DOCKER_FEATURE=1 but its image has no /etc/sso-docker/profiles; rebuild it with the sso-docker Feature",
    );
  });

  it("quotes what the image's files hold when it is not a name sso-docker can use", async () => {
    const bad = imageWith({ [PROFILES]: "dev ops\u001b[2J\n", [USER]: "dev\n" });
    await expect(readFeatureParticipation(bad.images, container())).rejects.toThrow(
      "container dc (image sha256:ab12ab12ab12): /etc/sso-docker/profiles names «dev ops\\x1b[2J», which sso-docker cannot sync",
    );
    const badUser = imageWith({ [PROFILES]: "dev\n", [USER]: "root;id\n" });
    await expect(readFeatureParticipation(badUser.images, container())).rejects.toThrow(
      "/etc/sso-docker/user holds «root;id», not a user name or uid",
    );
    const empty = imageWith({ [PROFILES]: " \n,\n", [USER]: "dev\n" });
    await expect(readFeatureParticipation(empty.images, container())).rejects.toThrow(
      "/etc/sso-docker/profiles names no profile",
    );
  });

  it("passes on why the image could not be read (a symlink, say), naming the container", async () => {
    const refused = new DockerError(
      "/etc/sso-docker/profiles is a symbolic link (to «/home/dev/p»), not a regular file.",
    );
    const { engine, images } = imageWith({ [PROFILES]: refused, [USER]: "dev\n" });
    await expect(readFeatureParticipation(images, container())).rejects.toThrow(
      "container dc (image sha256:ab12ab12ab12) has SSO_DOCKER_FEATURE=1 but its image's Feature files cannot be read: /etc/sso-docker/profiles is a symbolic link (to «/home/dev/p»), not a regular file.",
    );
    expect(engine.live.size).toBe(0);
  });
});

describe("resolveParticipation", () => {
  it("prefers the label and env rules, giving a Dev Container's remote user the files", async () => {
    const { engine, images } = imageWith({ [PROFILES]: "from-file\n", [USER]: "dev\n" });
    const byEnv = container({ env: { SSO_DOCKER_FEATURE: "1", SSO_DOCKER_PROFILES: "a,b" } });
    expect(await resolveParticipation(byEnv, DEFAULT_RULES, { logger: silentLogger, images })).toEqual({
      profiles: ["a", "b"],
      user: "dev",
      source: "env",
    });
    expect(engine.calls).toEqual([]);
  });

  it("reads the Feature's files only for a running container that carries the marker", async () => {
    const { engine, images } = imageWith({ [PROFILES]: "x\n", [USER]: "dev\n" });
    const options = { logger: silentLogger, images };
    expect(await resolveParticipation(container({ env: {} }), DEFAULT_RULES, options)).toBeUndefined();
    expect(await resolveParticipation(container({ running: false }), DEFAULT_RULES, options)).toBeUndefined();
    expect(engine.calls).toEqual([]);
    expect((await resolveParticipation(container(), DEFAULT_RULES, options))?.profiles).toEqual(["x"]);
  });

  it("warns once per start, naming container and image, when the image lacks the files", async () => {
    const { images } = imageWith({});
    const logger = recordingLogger();
    expect(await resolveParticipation(container(), DEFAULT_RULES, { logger, images })).toBeUndefined();
    expect(logger.warnings).toEqual([
      expect.stringMatching(
        /^container dc \(image sha256:ab12ab12ab12\) .*no \/etc\/sso-docker\/profiles; rebuild it with the sso-docker Feature$/,
      ),
    ]);
  });
});
