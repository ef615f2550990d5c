import type {
  ContainerDetails,
  ContainerSpec,
  ContainerSummary,
  ImageDetails,
  VolumeDetails,
} from "./engine.js";

// Engine JSON → what sso-docker reads. The wire types name only the fields read here; the
// engine sends null for an empty list or map (no labels, no mounts), so those may be null.

type Nullable<T> = T | null | undefined;

/** `GET /containers/{id}/json`, the fields read. */
export interface ContainerInspectInfo {
  Id: string;
  Name: string;
  Image: string;
  Config: { User: string; Env?: Nullable<string[]>; Labels?: Nullable<Record<string, string>> };
  State: { Running: boolean; Paused: boolean };
  HostConfig: {
    IpcMode?: string;
    Tmpfs?: Nullable<Record<string, string>>;
    Mounts?: Nullable<{ Type: string; Target: string }[]>;
  };
  Mounts?: Nullable<{ Destination: string; RW: boolean }[]>;
}

/** `GET /images/{name}/json`, the fields read. */
export interface ImageInspectInfo {
  Id: string;
  Config?: Nullable<{ Entrypoint?: Nullable<string[]>; Cmd?: Nullable<string[]>; User?: string }>;
}

/** One entry of `GET /containers/json`, the fields read. */
export interface ContainerInfo {
  Id: string;
  Names: string[];
  Labels?: Nullable<Record<string, string>>;
  State: string;
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
export function toContainerDetails(info: ContainerInspectInfo): ContainerDetails {
  const mountTargets = (info.HostConfig.Mounts ?? []).filter((m) => m.Type === "tmpfs").map((m) => m.Target);
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ""),
    image: info.Image,
    user: info.Config.User,
    env: parseEnv(info.Config.Env),
    labels: info.Config.Labels ?? {},
    running: info.State.Running,
    paused: info.State.Paused,
    ipcMode: info.HostConfig.IpcMode ?? "",
    tmpfsTargets: [...Object.keys(info.HostConfig.Tmpfs ?? {}), ...mountTargets],
    readOnlyMounts: (info.Mounts ?? []).filter((m) => !m.RW).map((m) => m.Destination),
  };
}

/** `GET /images/{name}/json`. */
export function toImageDetails(info: ImageInspectInfo): ImageDetails {
  const config = info.Config;
  return {
    id: info.Id,
    entrypoint: config?.Entrypoint ?? [],
    cmd: config?.Cmd ?? [],
    user: config?.User ?? "",
  };
}

/** `GET /containers/json`. */
export function toContainerSummary(c: ContainerInfo): ContainerSummary {
  return {
    id: c.Id,
    name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
    labels: c.Labels ?? {},
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

/** `GET /volumes/{name}`, the fields read. */
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
export function toCreateBody(spec: ContainerSpec): Record<string, unknown> {
  return {
    Image: spec.image,
    Labels: spec.labels ?? {},
    // Never run: a command that exists in no image, should anything start it.
    Entrypoint: ["/sso-docker-never-started"],
    Cmd: [],
    HostConfig: {
      NetworkMode: "none",
      Mounts: Object.entries(spec.volumes ?? {}).map(([target, source]) => ({
        Type: "volume",
        Source: source,
        Target: target,
      })),
    },
  };
}
