// Runs every benchmark in turn; each writes bench/results/<name>.json for the README.
import { execa } from "execa";

for (const [script, args] of [
  ["bench/credentials.mjs", ["15"]],
  ["bench/run-container.mjs", ["30"]],
  ["bench/agent.mjs", ["50"]],
  ["bench/agent-scale.mjs", ["50,200,500"]],
  ["bench/remote-rotation.mjs", ["5"]],
]) {
  process.stdout.write(`\n== ${script}\n`);
  await execa(process.execPath, [script, ...args], { stdio: "inherit" });
}
