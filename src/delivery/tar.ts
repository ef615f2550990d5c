/**
 * A minimal POSIX ustar writer for the two small non-secret files seeded before start.
 * Forty lines instead of a dependency: entries are few, names short (< 100 bytes), content
 * in memory, and the engine's extractor is the only reader.
 */
export interface TarEntry {
  /** Relative path, `/`-separated; directories end with `/`. */
  name: string;
  mode: number;
  content?: string | Buffer;
  uid?: number;
  gid?: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 digits and a NUL terminator, as ustar wants.
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(entry: TarEntry, size: number, mtime: number): Buffer {
  const isDir = entry.name.endsWith("/");
  if (Buffer.byteLength(entry.name) >= 100) throw new Error(`tar entry name too long: ${entry.name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(entry.name, 0, 100, "utf8");
  h.write(octal(entry.mode, 8), 100, 8, "ascii");
  h.write(octal(entry.uid ?? 0, 8), 108, 8, "ascii");
  h.write(octal(entry.gid ?? 0, 8), 116, 8, "ascii");
  h.write(octal(isDir ? 0 : size, 12), 124, 12, "ascii");
  h.write(octal(mtime, 12), 136, 12, "ascii");
  h.write(" ".repeat(8), 148, 8, "ascii"); // checksum is computed with its own field as spaces
  h.write(isDir ? "5" : "0", 156, 1, "ascii");
  h.write("ustar\u000000", 257, 8, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return h;
}

/** A complete archive (with the two zero end blocks) holding `entries` in order. */
export function createTar(entries: readonly TarEntry[], mtime = Math.floor(Date.now() / 1000)): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data =
      typeof entry.content === "string"
        ? Buffer.from(entry.content, "utf8")
        : (entry.content ?? Buffer.alloc(0));
    parts.push(header(entry, data.length, mtime));
    if (!entry.name.endsWith("/") && data.length > 0) {
      parts.push(data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
