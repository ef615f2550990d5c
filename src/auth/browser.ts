import type { Env } from "../runtime/env.js";

/**
 * Whether a browser opened here can reach our loopback redirect. Over SSH, in Codespaces or
 * a container, or on a Linux box with no display, it cannot: use the device code flow.
 */
export function localBrowserAvailable(env: Env, platform: NodeJS.Platform): boolean {
  if (env["SSH_CONNECTION"] || env["SSH_CLIENT"] || env["SSH_TTY"]) return false;
  if (env["CODESPACES"] === "true" || env["REMOTE_CONTAINERS"] === "true") return false;
  if (platform === "linux") {
    if (env["WSL_DISTRO_NAME"]) return true;
    return Boolean(env["DISPLAY"] || env["WAYLAND_DISPLAY"]);
  }
  return platform === "darwin" || platform === "win32";
}

/** Opens the URL in the user's browser; false when that did not work (the caller prints it). */
export async function openInBrowser(url: string): Promise<boolean> {
  try {
    const { default: open } = await import("open");
    const child = await open(url);
    return await new Promise<boolean>((resolve) => {
      child.once("error", () => {
        resolve(false);
      });
      child.once("spawn", () => {
        resolve(true);
      });
      // `open` may resolve after spawn already happened.
      if (child.pid !== undefined) resolve(true);
    });
  } catch {
    return false;
  }
}
