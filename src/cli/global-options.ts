/** Options every command takes, parsed before the command's own. */
export interface GlobalOptions {
  debug: boolean;
}
