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
    const missing = (flag: string, message: string): never => {
      throw new ConfigError(`${message.replace(/:$/, "")} is needed and there is no terminal to ask on.`, {
        hint: `pass --${flag}`,
      });
    };
    return {
      interactive,
      text: async ({ message, flag, initial }) => (initial !== undefined ? initial : missing(flag, message)),
      select: async ({ message, flag, choices }) => {
        const [only] = choices;
        if (choices.length === 1 && only) return only.value;
        return missing(flag, `${message} (one of: ${choices.map((c) => c.value).join(", ")})`);
      },
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
