/** Keeps the last `limit` bytes of a stream as text, so error messages can quote what QEMU said last. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly limit = 8192) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes - (this.chunks[0]?.length ?? 0) >= this.limit) {
      this.bytes -= this.chunks.shift()!.length;
    }
  }

  /** The kept text, cut to the last `limit` bytes and to whole lines where possible. */
  text(): string {
    const all = Buffer.concat(this.chunks);
    const kept = all.length > this.limit ? all.subarray(all.length - this.limit) : all;
    let text = kept.toString('utf8');
    if (all.length > this.limit) text = text.slice(text.indexOf('\n') + 1);
    return text.trimEnd();
  }
}
