import { CancelledError, ConfigError } from "../runtime/errors.js";

export interface Choice<T extends string> {
  value: T;
  label: string;
  hint?: string;
}

/** Asks the person, or — with no terminal — fails naming the flag that answers the question. */
export interface Prompter {
  readonly interactive: boolean;
  text(question: {
    message: string;
    flag: string;
    initial?: string | undefined;
    validate?: (v: string) => string | undefined;
  }): Promise<string>;
  select<T extends string>(question: { message: string; flag: string; choices: Choice<T>[] }): Promise<T>;
}

export async function createPrompter(interactive: boolean): Promise<Prompter> {
  if (!interactive) {
    const missing = (flag: string, message: string, choices?: readonly string[]): never => {
      const among = choices ? ` (one of: ${choices.join(", ")})` : "";
      throw new ConfigError(
        `${message.replace(/:$/, "")}${among} is needed and there is no terminal to ask on.`,
        {
          hint: `pass --${flag}`,
        },
      );
    };
    // A throw inside the executor becomes the rejection, as in an async function.
    const settle = <T>(answer: () => T) =>
      new Promise<T>((resolve) => {
        resolve(answer());
      });
    return {
      // isTTY is undefined, not false, off a terminal.
      interactive: false,
      text: ({ message, flag, initial, validate }) =>
        settle(() => {
          if (initial === undefined) return missing(flag, message);
          // A flag's value gets the same check an answer typed at the prompt would.
          const problem = validate?.(initial);
          if (problem !== undefined)
            throw new ConfigError(`--${flag} ${JSON.stringify(initial)}: ${problem}.`, {
              hint: `pass a valid --${flag}`,
            });
          return initial;
        }),
      select: ({ message, flag, choices }) =>
        settle(() => {
          const [only] = choices;
          if (choices.length === 1 && only) return only.value;
          return missing(
            flag,
            message,
            choices.map((c) => c.value),
          );
        }),
    };
  }
  const clack = await import("@clack/prompts");
  const answered = <T>(value: T | symbol): T => {
    if (clack.isCancel(value))
      throw new CancelledError("Configuration cancelled; ~/.aws/config was not changed.");
    return value as T;
  };
  return {
    interactive,
    text: async ({ message, initial, validate }) =>
      answered<string>(
        await clack.text({
          message,
          ...(initial !== undefined ? { placeholder: initial, defaultValue: initial } : {}),
          validate: (value) => (validate ? validate(value ?? initial ?? "") : undefined),
        }),
      ),
    select: async ({ message, choices }) =>
      answered(
        await clack.select({
          message,
          options: choices.map((c) => ({
            value: c.value,
            label: c.label,
            ...(c.hint ? { hint: c.hint } : {}),
          })) as never,
        }),
      ) as never,
  };
}
