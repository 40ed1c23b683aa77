/**
 * Newline-delimited framing: one JSON message per line. A line that grows past `maxBytes`
 * without a newline is reported once through `onOverflow` and the rest is discarded.
 */
export class LineDecoder {
  private chunks: Buffer[] = [];
  private size = 0;
  private overflowed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.overflowed) {
        this.reset();
        continue;
      }
      if (this.size + piece.length > this.maxBytes) {
        this.overflow();
        this.reset();
        continue;
      }
      const line = Buffer.concat([...this.chunks, piece]).toString('utf8');
      this.reset();
      if (line.trim() !== '') this.onLine(line);
    }
    if (this.overflowed || start >= chunk.length) return;
    const rest = chunk.subarray(start);
    if (this.size + rest.length > this.maxBytes) {
      this.overflow();
      this.chunks = [];
      this.size = 0;
      return;
    }
    this.chunks.push(Buffer.from(rest));
    this.size += rest.length;
  }

  private overflow(): void {
    if (!this.overflowed) this.onOverflow();
    this.overflowed = true;
  }

  private reset(): void {
    this.chunks = [];
    this.size = 0;
    this.overflowed = false;
  }
}
