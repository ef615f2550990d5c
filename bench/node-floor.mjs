// The floor of any Node.js CLI that wraps `docker run`: start Node, spawn docker with these
// arguments, exit with its code. bench/run-container.mjs times it beside both commands.
import { spawn } from "node:child_process";

const child = spawn("docker", process.argv.slice(2), { stdio: "inherit" });
child.on("close", (code) => process.exit(code ?? 1));
