/** Which engine answers at an address: Docker and Podman serve the same API but differ in places. */
export interface EngineVersion {
  /** "Docker", "Podman", or the first component's name for anything else. */
  product: string;
  version: string;
  /** The Docker API version it speaks (Podman speaks one too). */
  apiVersion: string;
}

/** The parts of `GET /version` read here. */
export interface VersionInfo {
  Version?: string;
  ApiVersion?: string;
  Components?: { Name?: string; Version?: string }[];
}

/**
 * Podman lists itself as the component "Podman Engine" (its top-level Version is its own too);
 * Docker as "Engine". An engine without components (old Docker) is taken for Docker.
 */
export function toEngineVersion(info: VersionInfo): EngineVersion {
  const components = info.Components ?? [];
  const podman = components.find((c) => c.Name === "Podman Engine");
  const first = components[0]?.Name;
  const product =
    podman !== undefined ? "Podman" : first === undefined || first === "Engine" ? "Docker" : first;
  return {
    product,
    version: podman?.Version ?? info.Version ?? "",
    apiVersion: info.ApiVersion ?? "",
  };
}

export function isPodman(version: EngineVersion): boolean {
  return version.product === "Podman";
}

/** "Podman 4.3.1", for status and messages. */
export function describeEngineVersion(version: EngineVersion): string {
  return version.version === "" ? version.product : `${version.product} ${version.version}`;
}
