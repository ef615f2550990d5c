import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));

export function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Writes bench/results/<name>.json and prints it, so the README can quote the figures. */
export async function writeResult(result) {
  await mkdir(RESULTS_DIR, { recursive: true });
  const stamped = { ...result, measuredAt: new Date().toISOString() };
  await writeFile(`${RESULTS_DIR}${result.benchmark}.json`, JSON.stringify(stamped, null, 2) + "\n");
  process.stdout.write(JSON.stringify(stamped, null, 2) + "\n");
}
