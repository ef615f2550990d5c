import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import type { Env } from "./env.js";
import type { Logger } from "./logger.js";
import { createLogger } from "./logger.js";
import type { AwsPaths } from "./paths.js";
import { resolveAwsPaths } from "./paths.js";

/**
 * What the host side needs from its surroundings, built once in `cli/` and passed down.
 * Tests build their own with a temp HOME, a fake clock and endpoint overrides in `env`.
 */
export interface Deps {
  env: Env;
  paths: AwsPaths;
  clock: Clock;
  logger: Logger;
  platform: NodeJS.Platform;
}

export function createDeps(options: Partial<Deps> & { debug?: boolean } = {}): Deps {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  return {
    env,
    paths: options.paths ?? resolveAwsPaths(env, platform),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? createLogger({ debug: options.debug ?? false }),
    platform,
  };
}
