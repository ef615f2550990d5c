import { SsoDockerError } from "../runtime/errors.js";

/** A dev environment with no Docker engine in reach, supplied over OpenSSH. */
export type Platform = "codespace" | "devpod" | "coder" | "ssh";

export interface RemoteTarget {
  platform: Platform;
  /** Codespace, workspace or ssh host (an alias of the user's ~/.ssh/config works). */
  name: string;
}

/** Whether the platform says its environment can take a connection without being woken. */
export type TargetState = "available" | "stopped" | "gone" | "unknown";

export class RemoteTargetError extends SsoDockerError {
  override name = "RemoteTargetError";
}

const REFUSAL = Symbol.for("sso-docker.RemoteTargetRefusal");

/**
 * The target answered, but not as the one attached (another host key) or with no tmpfs to
 * write to: trying again changes nothing until it is attached again. Branded (`is`), since
 * `instanceof` fails across two bundles of this module.
 */
export class RemoteTargetRefusal extends RemoteTargetError {
  override name = "RemoteTargetRefusal";
  readonly [REFUSAL] = true;

  static is(error: unknown): error is RemoteTargetRefusal {
    return (
      typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[REFUSAL] === true
    );
  }
}

// Names go into the ProxyCommand, which ssh hands to a shell after expanding `%`: only characters
// that no shell or ssh treats specially, and never a leading `-` that a CLI would read as a flag.
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}$/;
const PLATFORMS: readonly Platform[] = ["codespace", "devpod", "coder", "ssh"];

export function targetId(target: RemoteTarget): string {
  return `${target.platform}:${target.name}`;
}

/** `codespace:NAME`, `devpod:WS`, `coder:WS` or `ssh:HOST`. */
export function parseTarget(text: string): RemoteTarget {
  const at = text.indexOf(":");
  const platform = text.slice(0, at) as Platform;
  const name = text.slice(at + 1);
  if (at < 0 || !PLATFORMS.includes(platform)) {
    throw new RemoteTargetError(`"${text}" is not a remote target.`, {
      hint: "Name one as codespace:NAME, devpod:WORKSPACE, coder:WORKSPACE or ssh:HOST, e.g. `sso-docker attach codespace:$CODESPACE_NAME --profile dev`.",
    });
  }
  if (!NAME.test(name)) {
    throw new RemoteTargetError(`"${name}" is not a ${platform} name sso-docker can connect to.`, {
      hint: "Use the name as the platform lists it: letters, digits and . _ - @, not starting with - or a dot.",
    });
  }
  return { platform, name };
}

// A login user goes into the ProxyCommand too (devpod's --user): the same care as a name.
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** The `--ssh-user` of an attach: a user name as useradd allows it, nothing a shell reads. */
export function parseSshUser(text: string): string {
  if (!USER.test(text)) {
    throw new RemoteTargetError(`"${text}" is not a user name sso-docker can log in as.`, {
      hint: "Name the target's login user as `id -un` prints it there, e.g. --ssh-user vscode.",
    });
  }
  return text;
}

/**
 * The platform's own connect command, through which OpenSSH reaches the environment's SSH
 * server, as its `--stdio` mode is meant for (gh cs ssh --config, devpod's and coder's
 * config-ssh write these same ProxyCommands). None for a plain ssh host. None of them may start a
 * stopped environment or open anything beside the tunnel:
 * - gh: starts a stopped codespace, so it is never run unless `view` said Available.
 * - devpod (loft-sh/devpod cmd/ssh.go): `--stdio` never starts a stopped workspace; its default
 *   `--start-services` runs a credentials server in the container and forwards ports, so it is
 *   off; `--user` is the user devpod's ssh server runs as, and must be the login user.
 * - coder (coder/coder cli/ssh.go): `--disable-autostart`, or a connect starts the workspace.
 */
export function proxyCommand(target: RemoteTarget & { user?: string }): string | undefined {
  const { name, user } = target;
  switch (target.platform) {
    case "codespace":
      return `gh codespace ssh -c ${name} --stdio`;
    case "devpod":
      return `devpod ssh --stdio --start-services=false${user === undefined ? "" : ` --user ${parseSshUser(user)}`} ${name}`;
    case "coder":
      return `coder ssh --stdio --disable-autostart ${name}`;
    case "ssh":
      return undefined;
  }
}

/** The platform's read-only state query: an API call that wakes nothing. */
export interface StateQuery {
  command: string;
  args: string[];
  parse: (stdout: string) => TargetState;
}

export function stateQuery(target: RemoteTarget): StateQuery | undefined {
  const { name } = target;
  switch (target.platform) {
    case "codespace":
      // gh: internal/codespaces/api: Available, Shutdown, Starting, …
      return {
        command: "gh",
        args: ["codespace", "view", "-c", name, "--json", "state"],
        parse: (out) => mapState(jsonField(out, "state"), { Available: "available" }, ["Shutdown"]),
      };
    case "devpod":
      // devpod cmd/status.go prints pkg/client WorkspaceStatus {"id","context","provider","state"};
      // states: Running, Busy, Stopped, NotFound
      return {
        command: "devpod",
        args: ["status", name, "--output", "json"],
        parse: (out) => {
          const state = jsonField(out, "state");
          return state === "NotFound" ? "gone" : mapState(state, { Running: "available" }, ["Stopped"]);
        },
      };
    case "coder":
      return {
        command: "coder",
        args: ["list", "--output", "json"],
        parse: (out) => coderState(out, name),
      };
    case "ssh":
      return undefined;
  }
}

function jsonField(out: string, field: string): unknown {
  try {
    const value = JSON.parse(out) as unknown;
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)[field]
      : undefined;
  } catch {
    return undefined;
  }
}

function mapState(
  state: unknown,
  available: Record<string, TargetState>,
  stopped: readonly string[],
): TargetState {
  if (typeof state !== "string") return "unknown";
  if (available[state] !== undefined) return available[state];
  return stopped.includes(state) ? "stopped" : "unknown";
}

/**
 * `coder list --output json` (coder/coder cli/list.go): the user's workspaces as codersdk.Workspace,
 * `name` and `latest_build.status` (codersdk WorkspaceStatus: pending, starting, running, stopping,
 * stopped, failed, canceling, canceled, deleting, deleted). With no workspace at all it prints
 * nothing on stdout (its "No workspaces found!" goes to stderr).
 */
function coderState(out: string, name: string): TargetState {
  let list: unknown;
  try {
    list = out.trim() === "" ? [] : JSON.parse(out);
  } catch {
    return "unknown";
  }
  if (!Array.isArray(list)) return "unknown";
  const found = (list as Record<string, unknown>[]).find((w) => w["name"] === name);
  if (found === undefined) return "gone";
  const build = found["latest_build"] as Record<string, unknown> | undefined;
  if (build?.["status"] === "deleted") return "gone";
  return mapState(build?.["status"], { running: "available" }, ["stopped", "stopping"]);
}
