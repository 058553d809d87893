/**
 * Splits a byte stream into frames (lines, packets, messages) while holding at most a bounded
 * amount of an unfinished one. A {@link Session} feeds it what its socket reads.
 */
export interface FrameDecoder<F> {
  /**
   * Feeds a chunk and returns the frames it completed.
   * @throws {ProtocolError} a frame broke the decoder's bound; the session ends with it.
   */
  push(chunk: Buffer): F[];
  /** Returns what the end of the stream completes (e.g. an error frame for a message it cut off). */
  end(): F[];
  /** The start of an unfinished frame ('' if none), to say where a connection was cut. */
  partial(): string;
}
