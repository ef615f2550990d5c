import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, Option } from "commander";
import { PACKAGE_ROOT } from "../runtime/package-root.js";
import type { GlobalOptions } from "./global-options.js";
import { reportError } from "./report-error.js";

// Each command's module is imported only when it runs, so `sso-docker credentials` (a hot
// path when used as a host credential_process) loads no Docker or prompt code.
const version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string })
  .version;

function globals(command: Command): GlobalOptions {
  const opts = command.optsWithGlobals<{ debug?: boolean }>();
  return { debug: opts.debug ?? false };
}

const program = new Command("sso-docker")
  .description(
    "AWS IAM Identity Center credentials for Docker containers and Dev Containers, refreshed from the host.",
  )
  .version(version)
  .option("--debug", "print diagnostic details to stderr (never secrets)", false)
  .enablePositionalOptions()
  // Usage errors read like every other error: one `sso-docker: …` line, then a `next:` line
  // (set per command below). Commander's "(Did you mean …?)" joins the first line.
  .configureOutput({
    outputError: (text, write) => {
      write(text.replace(/^error: /, "sso-docker: ").replace(/\n(?=\(Did you mean)/, " "));
    },
  });

program
  .command("configure")
  .description("set up an IAM Identity Center profile in ~/.aws/config (like `aws configure sso`)")
  .option("--profile <name>", "profile name to write (default: <role>-<account>)")
  .option("--sso-session <name>", "sso-session name")
  .option("--start-url <url>", "SSO start URL, e.g. https://my-org.awsapps.com/start")
  .option("--sso-region <region>", "region of IAM Identity Center")
  .option("--scopes <list>", "registration scopes, comma separated", "sso:account:access")
  .option("--account-id <id>", "AWS account to use")
  .option("--role-name <name>", "role (permission set) to use")
  .option("--region <region>", "default region for the profile")
  .option("--output <format>", "default output format for the profile")
  .option("--use-device-code", "sign in with the device code flow")
  .option("--no-browser", "print the sign-in URL instead of opening a browser")
  .action(async (opts: Record<string, unknown>, command: Command) => {
    const { runConfigure } = await import("./commands/configure.js");
    await runConfigure(opts, globals(command));
  });

program
  .command("login")
  .description("sign in to IAM Identity Center and cache the token (like `aws sso login`)")
  .option("--profile <name>", "profile to sign in for (default: $AWS_PROFILE or default)")
  .option("--sso-session <name>", "sign in to this sso-session directly")
  .option("--use-device-code", "use the device code flow instead of the browser redirect")
  .option("--no-browser", "print the sign-in URL instead of opening a browser")
  .action(async (opts: Record<string, unknown>, command: Command) => {
    const { runLogin } = await import("./commands/login.js");
    await runLogin(opts, globals(command));
  });

program
  .command("credentials")
  .description("print role credentials for a profile (like `aws configure export-credentials`)")
  .option("--profile <name>", "profile (default: $AWS_PROFILE or default)")
  .addOption(
    new Option("--format <format>", "output format")
      .choices(["process", "env", "env-no-export", "json"])
      .default("process"),
  )
  .action(async (opts: Record<string, unknown>, command: Command) => {
    const { runCredentials } = await import("./commands/credentials.js");
    await runCredentials(opts, globals(command));
  });

program
  .command("logout")
  .description(
    "sign out: revoke and delete cached SSO tokens (like `aws sso logout`) and remove credentials from containers",
  )
  .action(async (_opts: Record<string, unknown>, command: Command) => {
    const { runLogout } = await import("./commands/logout.js");
    await runLogout(globals(command));
  });

program
  .command("run")
  .description("`docker run` with AWS credentials inside, kept fresh (all docker run options pass through)")
  .usage("[--profile NAME]... [docker run options] IMAGE [COMMAND] [ARG...]")
  .helpOption("-h, --help", "show this help (docker's own options: docker run --help)")
  .addHelpText(
    "after",
    "\nEvery docker run option passes through untouched. --profile may be repeated; the first is the default profile.\nExample: sso-docker run --profile dev --rm -it my-image aws sts get-caller-identity",
  )
  .allowUnknownOption()
  .allowExcessArguments()
  .passThroughOptions()
  .argument("[args...]")
  .action(async (argv: string[], _opts: Record<string, unknown>, command: Command) => {
    const { runRun } = await import("./commands/run.js");
    await runRun(argv, globals(command));
  });

program
  .command("grant")
  .description(
    "print the labels that let your agent supply a container: docker run $(sso-docker grant --profile dev) IMAGE",
  )
  .option(
    "--profile <name>",
    "profile the container gets; repeat for more, the first is its default (default: $AWS_PROFILE or default)",
    (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
  )
  .addOption(
    new Option("--format <format>", "args: the two --label options; value: the grant alone (compose)")
      .choices(["args", "value"])
      .default("args"),
  )
  .addHelpText(
    "after",
    '\nCompose: labels: ["sso-docker.profiles=dev", "sso-docker.grant=${SSO_DOCKER_GRANT}"], then\n  SSO_DOCKER_GRANT=$(sso-docker grant --profile dev --format value) docker compose up\n',
  )
  .action(async (opts: Record<string, unknown>, command: Command) => {
    const { runGrant } = await import("./commands/grant.js");
    await runGrant(opts, globals(command));
  });

const agent = program
  .command("agent")
  .description("keep every participating container supplied with fresh credentials, following Docker events")
  .option("--detach", "run in the background (log in ~/.sso-docker or $XDG_STATE_HOME/sso-docker)")
  .option(
    "--context <name>",
    "Docker context to follow (default: DOCKER_HOST, DOCKER_CONTEXT, current context)",
  )
  .option("--no-browser", "only log the sign-in URL when the session needs a new login")
  .option("--use-device-code", "sign in with the device code flow when the session needs a new login")
  .addOption(new Option("--detached-child").hideHelp())
  .action(async (opts: Record<string, unknown>, command: Command) => {
    const { runAgent } = await import("./commands/agent.js");
    await runAgent(opts, globals(command));
  });

agent
  .command("stop")
  .description("stop the background agent for this Docker engine")
  .option("--context <name>", "Docker context whose agent to stop")
  .action(async (_opts: Record<string, unknown>, command: Command) => {
    const { runAgentStop } = await import("./commands/agent.js");
    // --context may have been parsed by `agent` (before `stop`) or by `stop` itself.
    await runAgentStop(command.optsWithGlobals<{ context?: string }>(), globals(command));
  });

program
  .command("attach")
  .description(
    "supply a remote dev environment over ssh: codespace:NAME, devpod:WORKSPACE, coder:WORKSPACE or ssh:HOST",
  )
  .argument("<target>")
  .option(
    "--profile <name>",
    "profile the target gets; repeat for more, the first is its default",
    (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
  )
  .option("--ssh-user <user>", "login user in the target (default: ssh's; codespaces: codespace)")
  .option("-i, --identity-file <file>", "ssh key for the target (default: ssh's)")
  .action(async (target: string, opts: Record<string, unknown>, command: Command) => {
    const { runAttach } = await import("./commands/attach.js");
    await runAttach(target, opts, globals(command));
  });

program
  .command("detach")
  .description("stop supplying a remote target, remove its credentials and its pinned host key")
  .argument("<target>")
  .action(async (target: string, _opts: Record<string, unknown>, command: Command) => {
    const { runDetach } = await import("./commands/attach.js");
    await runDetach(target, globals(command));
  });

program
  .command("status")
  .description("show SSO sessions, the agent and the containers it keeps supplied")
  .option("--json", "machine-readable output")
  .option("--context <name>", "Docker context whose agent to show")
  .action(async (opts: Record<string, unknown>, command: Command) => {
    const { runStatus } = await import("./commands/status.js");
    await runStatus(opts, globals(command));
  });

program
  .command("demo")
  .description(
    "see the whole flow on this machine with the embedded fake IAM Identity Center (no AWS account)",
  )
  .option("--keep", "keep the demo's temporary HOME for inspection")
  .action(async (opts: Record<string, unknown>, command: Command) => {
    const { runDemo } = await import("./commands/demo.js");
    await runDemo(opts, globals(command));
  });

program
  .command("fake-idc")
  .description("run the local fake IAM Identity Center (for tests and demos)")
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("--port <port>", "port (0 = any free port)", "0")
  .option("--auto-approve", "approve every sign-in at once")
  .action(async (opts: Record<string, unknown>) => {
    const { runFakeIdc } = await import("./commands/fake-idc.js");
    await runFakeIdc(opts);
  });

for (const command of [program, ...program.commands]) {
  command.showHelpAfterError(`  next: sso-docker ${command === program ? "" : `${command.name()} `}--help`);
  // Positional options (needed so `run` passes docker's flags through) would otherwise make
  // `sso-docker credentials --debug` an error; `run` takes it before the subcommand only.
  if (command !== program && command.name() !== "run") {
    command.option("--debug", "print diagnostic details to stderr (never secrets)");
  }
}

/** Parses `argv` (process.argv form) and runs the command, reporting any failure. */
export async function runProgram(argv: readonly string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const debug = program.opts<{ debug?: boolean }>().debug === true || argv.includes("--debug");
    process.exitCode = reportError(err, { debug });
  }
}
