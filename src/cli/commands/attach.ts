import { agentFiles } from "../../agent/agent-files.js";
import { ensureBackgroundAgent } from "../../agent/detach.js";
import { createDockerEngine } from "../../docker/engine.js";
import { attachTarget, detachTarget } from "../../remote/attach.js";
import { parseSshUser, parseTarget, targetId } from "../../remote/remote-target.js";
import type { SshRoute } from "../../remote/ssh-transport.js";
import { createDeps } from "../../runtime/deps.js";
import { CLI_ENTRY } from "../../runtime/package-root.js";
import type { GlobalOptions } from "../global-options.js";

interface AttachFlags {
  profile?: string[];
  sshUser?: string;
  identityFile?: string;
}

/** A codespace's sshd logs in the container's user; gh's own config names it, the default image's is this. */
const DEFAULT_USER: Partial<Record<SshRoute["platform"], string>> = { codespace: "codespace" };

export async function runAttach(text: string, flags: AttachFlags, globals: GlobalOptions): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const target = parseTarget(text);
  const user = flags.sshUser === undefined ? DEFAULT_USER[target.platform] : parseSshUser(flags.sshUser);
  const route: SshRoute = {
    ...target,
    ...(user === undefined ? {} : { user }),
    ...(flags.identityFile === undefined ? {} : { identityFile: flags.identityFile }),
  };
  const { target: attached, push } = await attachTarget(deps, route, flags.profile ?? []);
  const id = targetId(route);
  process.stderr.write(
    `Attached ${id}: pushed ${attached.profiles.join(", ")} into ${push.secretDir} (uid ${String(push.uid)}).\n`,
  );
  for (const warning of push.warnings) process.stderr.write(`warning: ${warning}\n`);
  // The agent keeps it fresh from now on; it runs for the current engine, as `run` starts it.
  const engine = createDockerEngine({ env: deps.env, home: deps.paths.home });
  const files = agentFiles(deps.env, deps.paths.home, engine.host);
  const agent = await ensureBackgroundAgent({
    cliPath: CLI_ENTRY,
    args: [...(globals.debug ? ["--debug"] : []), "agent", "--detached-child"],
    files,
    env: deps.env,
  });
  process.stderr.write(
    agent.started
      ? `Started the sso-docker agent (pid ${String(agent.pid)}) to keep it fresh; see \`sso-docker status\`, end it with \`sso-docker agent stop\`.\n`
      : `The sso-docker agent (pid ${String(agent.pid)}) keeps it fresh.\n`,
  );
}

export async function runDetach(text: string, globals: GlobalOptions): Promise<void> {
  const deps = createDeps({ debug: globals.debug });
  const route = parseTarget(text);
  const { wiped, found, wipeProblem } = await detachTarget(deps, route);
  const id = targetId(route);
  process.stderr.write(
    !found
      ? `${id} was not attached; its pinned host key, if any, is forgotten.\n`
      : wiped
        ? `Detached ${id} and removed its credentials.\n`
        : wipeProblem !== undefined
          ? `Detached ${id} and forgot its host key, but could not remove its credentials: ${wipeProblem.message}\n`
          : `Detached ${id}; it is not running, so its tmpfs holds nothing now.\n`,
  );
}
