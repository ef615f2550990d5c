import type { SessionRef } from "../auth/session-ref.js";
import type { Deps } from "../runtime/deps.js";
import { withInterrupt } from "./interrupt.js";
import type { LoginUi } from "../auth/login.js";
import { login } from "../auth/login.js";

export interface TerminalLoginUi extends LoginUi {
  /** Stops the spinner, if one is running. */
  done(message?: string): void;
}

/**
 * What `login` and `configure` show while waiting for the person: the URL and code as the
 * AWS CLI prints them, then a spinner on a terminal (plain lines otherwise). All on stderr.
 */
export async function createLoginUi(stream: NodeJS.WriteStream = process.stderr): Promise<TerminalLoginUi> {
  const interactive = stream.isTTY;
  const { spinner } = interactive ? await import("@clack/prompts") : { spinner: undefined };
  let spin: ReturnType<NonNullable<typeof spinner>> | undefined;
  const write = (text: string) => stream.write(text + "\n");
  const wait = (what: string) => {
    if (spinner) {
      spin = spinner({ output: stream });
      spin.start(what);
    } else {
      write(`${what}…`);
    }
  };
  return {
    devicePrompt: ({ verificationUri, verificationUriComplete, userCode, browserOpened }) => {
      write(
        browserOpened
          ? "Attempting to automatically open the SSO authorization page in your default browser.\nIf the browser does not open or you wish to use a different device to authorize this request, open the following URL:"
          : "Open the following URL in a browser, on this or any other device:",
      );
      write(`\n${verificationUri}\n\nThen enter the code:\n\n${userCode}\n`);
      write(`Or open directly: ${verificationUriComplete}\n`);
      wait("Waiting for the sign-in to be approved in the browser (Ctrl-C to cancel)");
    },
    authorizePrompt: ({ authorizeUrl, browserOpened }) => {
      write(
        browserOpened
          ? "Attempting to automatically open the SSO authorization page in your default browser.\nIf the browser does not open, open the following URL on this machine:"
          : "Open the following URL in a browser on this machine:",
      );
      write(`\n${authorizeUrl}\n`);
      wait("Waiting for the browser to come back (Ctrl-C to cancel)");
    },
    waitingForOtherLogin: () => {
      write("Another sso-docker login for this session is in progress; waiting for it to finish.");
    },
    done: (message) => {
      if (spin) spin.stop(message ?? "Done");
      else if (message) write(message);
      spin = undefined;
    },
  };
}

/** Signs in on the terminal: prompt, spinner, Ctrl-C cancels cleanly. Shared by `login` and `configure`. */
export async function loginOnTerminal(
  deps: Deps,
  session: SessionRef,
  options: { useDeviceCode?: boolean | undefined; openBrowser: boolean; oidcEndpoint: string | undefined },
): Promise<void> {
  const ui = await createLoginUi();
  try {
    await withInterrupt((signal) => login(deps, session, { ...options, signal, ui }));
    ui.done("Signed in");
  } catch (err) {
    ui.done("Not signed in");
    throw err;
  }
}
