// Copies the credential_process helper from the built sso-docker (src/delivery/helper-script.ts)
// into the Feature, which installs it as-is: one source, byte for byte. Run by `npm run build`;
// test/devcontainer-feature.test.ts fails if the committed copy differs.
import { readFile, writeFile } from "node:fs/promises";

const { HELPER_SCRIPT } = await import(new URL("../dist/delivery/helper-script.js", import.meta.url).href);
const target = new URL("./src/sso-docker/credential-process", import.meta.url);
const current = await readFile(target, "utf8").catch(() => undefined);
if (current !== HELPER_SCRIPT) await writeFile(target, HELPER_SCRIPT, { mode: 0o644 });
