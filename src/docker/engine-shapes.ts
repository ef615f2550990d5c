import type Docker from "dockerode";
import type {
  ContainerDetails,
  ContainerSpec,
  ContainerSummary,
  ImageDetails,
  VolumeDetails,
} from "./engine.js";

// Engine JSON → what sso-docker reads, shared by both engine clients. Type-only imports: this
// module must not load dockerode (the fast client exists to avoid exactly that).

/** The engine sends null where @types/dockerode promises an object (e.g. no labels). */
function nullable<T>(value: T): T | null | undefined {
  return value;
}

function parseEnv(lines: readonly string[] | null | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines ?? []) {
    const eq = line.indexOf("=");
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** `GET /containers/{id}/json`. */
export function toContainerDetails(info: Docker.ContainerInspectInfo): ContainerDetails {
  const mountTargets = (nullable(info.HostConfig.Mounts) ?? [])
    .filter((m) => m.Type === "tmpfs")
    .map((m) => m.Target);
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ""),
    image: info.Image,
    user: info.Config.User,
    env: parseEnv(info.Config.Env),
    labels: nullable(info.Config.Labels) ?? {},
    running: info.State.Running,
    paused: info.State.Paused,
    ipcMode: info.HostConfig.IpcMode ?? "",
    tmpfsTargets: [...Object.keys(nullable(info.HostConfig.Tmpfs) ?? {}), ...mountTargets],
    readOnlyMounts: (nullable(info.Mounts) ?? []).filter((m) => !m.RW).map((m) => m.Destination),
  };
}

/** `GET /images/{name}/json`. */
export function toImageDetails(info: Docker.ImageInspectInfo): ImageDetails {
  const config = nullable(info.Config);
  return {
    id: info.Id,
    entrypoint: nullable(config?.Entrypoint as string[] | undefined) ?? [],
    cmd: nullable(config?.Cmd) ?? [],
    user: config?.User ?? "",
  };
}

/** `GET /containers/json`. */
export function toContainerSummary(c: Docker.ContainerInfo): ContainerSummary {
  return {
    id: c.Id,
    name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
    labels: nullable(c.Labels) ?? {},
    state: c.State,
  };
}

/** The engine can close an exec's stream a moment before it records the exit code: poll briefly. */
export async function execExitCode(
  inspect: () => Promise<{ Running: boolean; ExitCode: number | null }>,
): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const info = await inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    if (attempt >= 200) return -1;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `GET /volumes/{name}`, as the engine sends it (@types/dockerode lacks Options). */
export interface VolumeInfo {
  Name: string;
  Driver: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  CreatedAt?: string;
}

export function toVolumeDetails(info: VolumeInfo): VolumeDetails {
  return {
    name: info.Name,
    driver: info.Driver,
    labels: info.Labels ?? {},
    options: info.Options ?? {},
    createdAt: info.CreatedAt ?? "",
  };
}

/** `POST /containers/create` for a container that is never started (so it needs no network). */
export function toCreateBody(spec: ContainerSpec): Docker.ContainerCreateOptions {
  return {
    Image: spec.image,
    Labels: spec.labels ?? {},
    // Never run: a command that exists in no image, should anything start it.
    Entrypoint: ["/sso-docker-never-started"],
    Cmd: [],
    HostConfig: {
      NetworkMode: "none",
      Mounts: Object.entries(spec.volumes ?? {}).map(([target, source]) => ({
        Type: "volume" as const,
        Source: source,
        Target: target,
      })),
    },
  };
}
