import type { ContainerDetails, DockerEngine } from "../docker/engine.js";
import { STATIC_DIR } from "./paths.js";
import type { ProfileSettings } from "./profile-files.js";
import { chooseSecretDir } from "./secret-dir.js";
import { renderStaticFiles } from "./static-files.js";
import { createTar } from "./tar.js";

/**
 * Puts /etc/sso-docker/{config,credential-process} into a created, not yet started container,
 * so its first process finds the helper (which then waits for the first push). Only non-secret
 * files go this way: putArchive writes to the writable layer, never to a tmpfs.
 */
export async function seedStaticFiles(
  engine: DockerEngine,
  container: string | ContainerDetails,
  profiles: readonly ProfileSettings[],
): Promise<void> {
  const details = typeof container === "string" ? await engine.inspectContainer(container) : container;
  const files = renderStaticFiles(profiles, chooseSecretDir(details).dir);
  const dir = STATIC_DIR.replace(/^\//, "");
  const tar = createTar([
    { name: `${dir}/`, mode: 0o755 },
    { name: `${dir}/credential-process`, mode: 0o644, content: files.helper },
    { name: `${dir}/config`, mode: 0o644, content: files.config },
  ]);
  await engine.putArchive(details.id, tar, "/");
}
