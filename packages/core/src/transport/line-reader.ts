import { ProtocolError } from '../errors.js';
import type { FrameDecoder } from './frame-decoder.js';

export interface LineReaderOptions {
  /** What ends a line (default `\n`); it may be several bytes long, e.g. HMP's prompt. */
  delimiter?: string;
  /** What a line is called in the error about an overlong one (default `line`), e.g. `qtest line`. */
  what?: string;
}

/**
 * Splits a byte stream into delimiter-terminated lines, whatever the chunking, holding at most
 * `maxLineBytes` of an unfinished line so a peer that never ends one cannot exhaust memory.
 * Lines are decoded as UTF-8 once complete, so a character split across chunks stays intact.
 */
export class LineReader implements FrameDecoder<string> {
  private readonly delimiter: Buffer;
  private readonly what: string;
  /** The unfinished line, in the pieces it came in (Node gives every read its own buffer). */
  private parts: Buffer[] = [];
  private partBytes = 0;

  constructor(
    private readonly maxLineBytes: number,
    options: LineReaderOptions = {},
  ) {
    this.delimiter = Buffer.from(options.delimiter ?? '\n', 'utf8');
    this.what = options.what ?? 'line';
  }

  /**
   * Feeds a chunk and returns the lines it completed, without their delimiter.
   * @throws {ProtocolError} a line is longer than the limit; the reader must not be used afterwards.
   */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    const data = this.withStraddle(chunk);
    let start = 0;
    for (let end = data.indexOf(this.delimiter); end !== -1; end = data.indexOf(this.delimiter, start)) {
      this.checkLength(this.partBytes + end - start);
      // The usual case, a whole line in one chunk, is decoded in place rather than copied first.
      lines.push(
        this.partBytes === 0
          ? data.toString('utf8', start, end)
          : Buffer.concat([...this.parts, data.subarray(start, end)]).toString('utf8'),
      );
      this.parts = [];
      this.partBytes = 0;
      start = end + this.delimiter.length;
    }
    this.append(data.subarray(start));
    return lines;
  }

  /** A line cut off by the end of the stream is no line: nothing to deliver. */
  end(): string[] {
    return [];
  }

  /** The start of an unfinished line held so far ('' if none), for saying where a connection was cut. */
  partial(maxChars = 80): string {
    return Buffer.concat(this.parts, this.partBytes).subarray(0, maxChars).toString('utf8');
  }

  /**
   * A delimiter of several bytes may have begun in what is held: gives the chunk back with the
   * held tail that could be its start (one byte short of a delimiter at most) in front of it.
   */
  private withStraddle(chunk: Buffer): Buffer {
    let need = Math.min(this.delimiter.length - 1, this.partBytes);
    if (need === 0) return chunk;
    const tail: Buffer[] = [chunk];
    this.partBytes -= need;
    while (need > 0) {
      const last = this.parts.pop()!;
      const take = Math.min(need, last.length);
      tail.unshift(last.subarray(last.length - take));
      if (take < last.length) this.parts.push(last.subarray(0, last.length - take));
      need -= take;
    }
    return Buffer.concat(tail);
  }

  private append(piece: Buffer): void {
    if (piece.length === 0) return;
    this.partBytes += piece.length;
    this.checkLength(this.partBytes);
    this.parts.push(piece);
  }

  private checkLength(bytes: number): void {
    if (bytes > this.maxLineBytes) throw new ProtocolError(`${this.what} longer than ${this.maxLineBytes} bytes`);
  }
}
