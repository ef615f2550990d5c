/**
 * Splits the engine's multiplexed attach stream (non-TTY exec): frames of an 8-byte header —
 * stream (1 stdout, 2 stderr), three zero bytes, a big-endian length — then the payload.
 * Chunks may split or join frames.
 */
export class StreamDemuxer {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) return;
      const payload = this.pending.subarray(8, 8 + size);
      (this.pending[0] === 2 ? this.stderr : this.stdout).push(payload);
      this.pending = this.pending.subarray(8 + size);
    }
  }
}
