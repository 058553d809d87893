import { ProtocolError } from '../errors.js';
import type { FrameDecoder } from '../transport/frame-decoder.js';

/**
 * GDB Remote Serial Protocol framing: `$payload#cs` packets whose checksum is the sum of the
 * payload bytes modulo 256, `}`-escaping (`}` then byte XOR 0x20) of `$ # } *`, run-length
 * encoding (`X*n` repeats X n-29 more times), `+`/`-` acknowledgements, and `%` notifications.
 * Pure functions and a stateful splitter, with no I/O.
 */

const DOLLAR = 0x24;
const HASH = 0x23;
const PERCENT = 0x25;
const PLUS = 0x2b;
const MINUS = 0x2d;
const BRACE = 0x7d; // }
const STAR = 0x2a;

/** Largest raw packet the decoder holds by default: far above QEMU's 4 KiB, yet bounded. */
export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

/** The RSP checksum: the sum of the bytes modulo 256. */
export function checksum(data: Uint8Array): number {
  let sum = 0;
  for (const byte of data) sum += byte;
  return sum & 0xff;
}

/** Escapes the bytes that would end or corrupt a packet (`$ # } *`). */
export function escapeBinary(data: Uint8Array): Buffer {
  const out: number[] = [];
  for (const byte of data) {
    if (byte === DOLLAR || byte === HASH || byte === BRACE || byte === STAR) out.push(BRACE, byte ^ 0x20);
    else out.push(byte);
  }
  return Buffer.from(out);
}

/** Frames a payload as `$…#cs`. Strings are taken as Latin-1, one byte per character. */
export function encodePacket(payload: string | Uint8Array): Buffer {
  const body = escapeBinary(typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);
  const cs = checksum(body).toString(16).padStart(2, '0');
  return Buffer.concat([Buffer.from([DOLLAR]), body, Buffer.from(`#${cs}`, 'latin1')]);
}

/**
 * Undoes escaping and run-length encoding of a packet body (the bytes between `$` and `#`).
 * @throws {ProtocolError} a dangling escape, or a repeat with nothing to repeat or a bad count.
 */
export function decodePayload(raw: Uint8Array): Buffer {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (byte === BRACE) {
      if (i + 1 >= raw.length) throw new ProtocolError('RSP packet ends inside an escape sequence');
      out.push(raw[++i]! ^ 0x20);
    } else if (byte === STAR) {
      const count = raw[i + 1];
      if (count === undefined || out.length === 0 || count < 0x20 || count > 0x7e) {
        throw new ProtocolError('RSP packet has a malformed run-length sequence');
      }
      const previous = out[out.length - 1]!;
      for (let n = count - 29; n > 0; n--) out.push(previous);
      i++;
    } else {
      out.push(byte);
    }
  }
  return Buffer.from(out);
}

/** What the stub sent, as {@link RspDecoder} splits it. Notifications (`%…#cs`) are dropped. */
export type RspEvent =
  | { kind: 'ack' }
  | { kind: 'nack' }
  | { kind: 'packet'; payload: Buffer }
  /** A packet that failed its checksum or decoding; in ack mode the answer is `-`, asking for it again. */
  | { kind: 'corrupt'; reason: string };

type State = 'idle' | 'body' | 'cs1' | 'cs2';

/**
 * Splits the stub's byte stream into acks and packets, whatever the chunking. Bytes outside
 * packets other than `+`/`-` are ignored, as GDB does.
 */
export class RspDecoder implements FrameDecoder<RspEvent> {
  private state: State = 'idle';
  private notification = false;
  private parts: Buffer[] = [];
  private bodyBytes = 0;
  private csText = '';

  constructor(private readonly maxPacketBytes = DEFAULT_MAX_PACKET_BYTES) {}

  /**
   * Feeds a chunk and returns the events it completed.
   * @throws {ProtocolError} a packet exceeds the size limit; the decoder must not be used afterwards.
   */
  push(chunk: Uint8Array): RspEvent[] {
    const events: RspEvent[] = [];
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case 'idle': {
          const byte = buf[i++]!;
          if (byte === PLUS) events.push({ kind: 'ack' });
          else if (byte === MINUS) events.push({ kind: 'nack' });
          else if (byte === DOLLAR || byte === PERCENT) {
            this.state = 'body';
            this.notification = byte === PERCENT;
          }
          break;
        }
        case 'body': {
          const end = buf.indexOf(HASH, i);
          this.appendBody(buf.subarray(i, end === -1 ? buf.length : end));
          if (end === -1) return events;
          this.state = 'cs1';
          i = end + 1;
          break;
        }
        case 'cs1':
          this.csText = String.fromCharCode(buf[i++]!);
          this.state = 'cs2';
          break;
        case 'cs2': {
          this.csText += String.fromCharCode(buf[i++]!);
          const event = this.finishPacket();
          if (event) events.push(event);
          break;
        }
      }
    }
    return events;
  }

  /** A packet cut off by the end of the stream is no packet: nothing to deliver. */
  end(): RspEvent[] {
    return [];
  }

  /** The start of an unfinished packet's body ('' if none), for saying where a connection was cut. */
  partial(maxChars = 80): string {
    return this.state === 'idle' ? '' : Buffer.concat(this.parts, this.bodyBytes).subarray(0, maxChars).toString('latin1');
  }

  private appendBody(piece: Buffer): void {
    if (piece.length === 0) return;
    this.bodyBytes += piece.length;
    if (this.bodyBytes > this.maxPacketBytes) throw new ProtocolError(`RSP packet longer than ${this.maxPacketBytes} bytes`);
    // Copy: the socket may reuse the chunk's memory.
    this.parts.push(Buffer.from(piece));
  }

  private finishPacket(): RspEvent | undefined {
    const raw = Buffer.concat(this.parts, this.bodyBytes);
    const cs = this.csText;
    this.state = 'idle';
    this.parts = [];
    this.bodyBytes = 0;
    if (this.notification) return undefined;
    if (!/^[0-9a-fA-F]{2}$/.test(cs) || parseInt(cs, 16) !== checksum(raw)) {
      return { kind: 'corrupt', reason: `checksum '${cs}' does not match (computed ${checksum(raw).toString(16).padStart(2, '0')})` };
    }
    try {
      return { kind: 'packet', payload: decodePayload(raw) };
    } catch (err) {
      return { kind: 'corrupt', reason: (err as Error).message };
    }
  }
}
