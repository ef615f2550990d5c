/**
 * Splits the engine's multiplexed attach stream (non-TTY exec): frames of an 8-byte header —
 * stream (1 stdout, 2 stderr), three zero bytes, a big-endian length — then the payload.
 * Chunks may split or join frames. At most `maxBytes` are kept per stream: `push` names the
 * stream that would go past it, and keeps nothing of that frame nor buffers one that large.
 */
export class StreamDemuxer {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  private readonly bytes = { stdout: 0, stderr: 0 };
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBytes = Infinity) {}

  push(chunk: Buffer): "stdout" | "stderr" | undefined {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 8) {
      const stream = this.pending[0] === 2 ? "stderr" : "stdout";
      const size = this.pending.readUInt32BE(4);
      if (this.bytes[stream] + size > this.maxBytes) return stream;
      if (this.pending.length < 8 + size) return undefined;
      this.bytes[stream] += size;
      this[stream].push(this.pending.subarray(8, 8 + size));
      this.pending = this.pending.subarray(8 + size);
    }
    return undefined;
  }
}
