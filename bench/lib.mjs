import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));

export function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `fn` on every item, `size` at a time. */
export async function pool(items, size, fn) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (queue.length) await fn(queue.shift());
    }),
  );
}

/** Starts `count` detached containers of `image` running `sleep seconds`, four at a time; their ids. */
export async function runSleepers(count, runArgs, image, seconds) {
  const ids = [];
  await pool([...Array(count).keys()], 4, async () => {
    const { stdout } = await execa("docker", ["run", "-d", ...runArgs, image, "sleep", String(seconds)]);
    ids.push(stdout.trim());
  });
  return ids;
}

/** Writes bench/results/<name>.json and prints it, so the README can quote the figures. */
export async function writeResult(result) {
  await mkdir(RESULTS_DIR, { recursive: true });
  const stamped = { ...result, measuredAt: new Date().toISOString() };
  await writeFile(`${RESULTS_DIR}${result.benchmark}.json`, JSON.stringify(stamped, null, 2) + "\n");
  process.stdout.write(JSON.stringify(stamped, null, 2) + "\n");
}
