import { createRequire } from "node:module";

/**
 * node:http, loaded with require: an ES import of it reads every export, and from Node 22 one of
 * them (http.WebSocket) loads undici, which took 65 ms of CPU on Node 24 here, more than
 * `sso-docker run` may add to `docker run`. require leaves that getter lazy.
 */
export const nodeHttp = createRequire(import.meta.url)("node:http") as typeof import("node:http");
