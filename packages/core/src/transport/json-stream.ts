import { ProtocolError } from '../errors.js';
import type { FrameDecoder } from './frame-decoder.js';

/** Limits that keep a misbehaving peer from exhausting memory. */
export interface JsonStreamOptions {
  /** Largest single message, in bytes (default 16 MiB). */
  maxMessageBytes?: number;
  /** Deepest nesting of objects/arrays in a message (default 1024, QEMU's own parser limit). */
  maxDepth?: number;
}

/** Where a {@link JsonStream} delivers what it finds. */
export interface JsonStreamHandlers {
  /** A complete, parsed top-level value, with its exact text (for tracing). */
  message(value: unknown, text: string): void;
  /** Malformed input. The stream has already resynchronised and keeps going; the owner decides whether that is fatal. */
  error(err: ProtocolError): void;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 1024;

const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const LF = 0x0a;

/** What we do with the bytes after an error. */
type Mode =
  | 'between' // outside any message, skipping whitespace
  | 'message' // inside a message, buffering it
  | 'discard' // inside a message that is already reported as too big/deep: track structure, keep nothing
  | 'garbage'; // after stray bytes between messages: skip to the next newline

/** What a {@link JsonStream} finds: a parsed message with its exact text, or malformed input it skipped. */
export type JsonFrame = { kind: 'message'; value: unknown; text: string } | { kind: 'error'; err: ProtocolError };

/**
 * Splits a byte stream into top-level JSON objects/arrays, whatever the chunking: several messages
 * in one chunk, or one message over many chunks (even mid-string or mid-UTF-8 sequence).
 *
 * Framing works on bytes: every structural JSON character is ASCII, and bytes of multi-byte UTF-8
 * sequences are all >= 0x80, so a message is only decoded once it is complete. Nothing here throws;
 * malformed input becomes a {@link ProtocolError} passed to {@link JsonStreamHandlers.error}.
 */
export class JsonStream {
  private readonly maxBytes: number;
  private readonly maxDepth: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  private mode: Mode = 'between';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Bytes of the current message that arrived in earlier chunks. */
  private parts: Buffer[] = [];
  private partsBytes = 0;

  constructor(
    private readonly handlers: JsonStreamHandlers,
    options: JsonStreamOptions = {},
  ) {
    this.maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** Bytes held for an incomplete message. */
  get bufferedBytes(): number {
    return this.partsBytes;
  }

  /** Feeds the next chunk. Handlers run after the whole chunk is scanned, so a throwing handler cannot corrupt the framing state. */
  push(chunk: Uint8Array | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: JsonFrame[] = [];
    this.scan(buf, out);
    for (const d of out) {
      if (d.kind === 'message') this.handlers.message(d.value, d.text);
      else this.handlers.error(d.err);
    }
  }

  /** Call when the stream ends: reports a message cut off by the end of input. */
  end(): void {
    const cutOff = this.mode === 'message' || this.mode === 'discard';
    const held = this.partsBytes;
    this.reset('between');
    if (cutOff) this.handlers.error(new ProtocolError(`stream ended inside a JSON message (${held} bytes buffered)`));
  }

  private scan(buf: Buffer, out: JsonFrame[]): void {
    let start = 0; // where the current message began in this chunk (if it began here)
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]!;
      switch (this.mode) {
        case 'between':
          if (c === OPEN_BRACE || c === OPEN_BRACKET) {
            this.mode = 'message';
            this.depth = 1;
            start = i;
          } else if (!isJsonWhitespace(c)) {
            out.push({ kind: 'error', err: new ProtocolError(`unexpected data between JSON messages: ${preview(buf, i)}`) });
            this.mode = 'garbage';
          }
          break;
        case 'garbage':
          if (c === LF) this.mode = 'between';
          break;
        case 'message':
        case 'discard':
          if (!this.step(c)) break;
          if (this.depth > this.maxDepth && this.mode === 'message') {
            out.push({ kind: 'error', err: new ProtocolError(`JSON message nested deeper than ${this.maxDepth} levels`) });
            this.dropBuffered('discard');
          } else if (this.depth === 0) {
            if (this.mode === 'message') this.complete(buf.subarray(start, i + 1), out);
            this.reset('between');
          }
          break;
      }
    }
    if (this.mode === 'message') this.keepPartial(buf.subarray(start), out);
  }

  /** Tracks strings and nesting for one byte inside a message; true if the depth changed. */
  private step(c: number): boolean {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (c === BACKSLASH) this.escaped = true;
      else if (c === QUOTE) this.inString = false;
      return false;
    }
    if (c === QUOTE) this.inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) this.depth--;
    else return false;
    return true;
  }

  private complete(tail: Buffer, out: JsonFrame[]): void {
    const size = this.partsBytes + tail.length;
    if (size > this.maxBytes) {
      out.push({ kind: 'error', err: tooBig(size, this.maxBytes) });
      return;
    }
    const bytes = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail], size);
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      out.push({ kind: 'error', err: new ProtocolError(`JSON message is not valid UTF-8: ${preview(bytes, 0)}`) });
      return;
    }
    try {
      out.push({ kind: 'message', value: JSON.parse(text), text });
    } catch (err) {
      out.push({ kind: 'error', err: new ProtocolError(`malformed JSON message (${(err as Error).message}): ${preview(bytes, 0)}`) });
    }
  }

  /** Keeps the unfinished end of a chunk, copied because the caller may reuse its buffer. */
  private keepPartial(tail: Buffer, out: JsonFrame[]): void {
    const size = this.partsBytes + tail.length;
    if (size > this.maxBytes) {
      out.push({ kind: 'error', err: tooBig(size, this.maxBytes) });
      this.dropBuffered('discard');
      return;
    }
    this.parts.push(Buffer.from(tail));
    this.partsBytes = size;
  }

  private dropBuffered(mode: Mode): void {
    this.parts = [];
    this.partsBytes = 0;
    this.mode = mode;
  }

  private reset(mode: Mode): void {
    this.dropBuffered(mode);
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }
}

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function tooBig(size: number, max: number): ProtocolError {
  return new ProtocolError(`JSON message exceeds ${max} bytes (at least ${size} bytes); discarded`);
}

/** A short, printable excerpt of the offending bytes for error messages. */
function preview(buf: Buffer, from: number): string {
  const text = buf.subarray(from, from + 60).toString('utf8');
  return JSON.stringify(text) + (buf.length - from > 60 ? '…' : '');
}

/**
 * A {@link JsonStream} as a session's frame decoder: messages and errors, in order. It never
 * throws; a message cut off by the end of the stream comes out of `end()` as an error frame.
 */
export function jsonFrames(options: JsonStreamOptions = {}): FrameDecoder<JsonFrame> {
  const found: JsonFrame[] = [];
  const stream = new JsonStream(
    { message: (value, text) => found.push({ kind: 'message', value, text }), error: (err) => found.push({ kind: 'error', err }) },
    options,
  );
  return {
    push(chunk) {
      stream.push(chunk);
      return found.splice(0);
    },
    end() {
      stream.end();
      return found.splice(0);
    },
    partial: () => '',
  };
}
