import type { ConnectionClosedError, QemuFaultError } from '../errors.js';
import type { FrameDecoder } from './frame-decoder.js';

/** Where a session is in its life: opening exchange, in use, ending (waiting for the socket to close), over. */
export type RunState = 'connecting' | 'running' | 'disconnecting' | 'closed';

/** Receives every message as sent or received, plus `(…)` notes about ignored or invalid input. */
export type TraceFn = (direction: 'send' | 'recv', text: string) => void;

/**
 * Turns the {@link ConnectionClosedError} of a lost connection into the error its caller should
 * see: typically a `QemuExitedError` once the QEMU process has been seen to exit, which it may
 * wait for briefly (the sockets close a moment before the exit is reaped). Resolving with `lost`
 * itself, or rejecting, keeps `lost`.
 */
export type ExplainLostConnection = (lost: ConnectionClosedError) => Promise<QemuFaultError>;

/** What every session takes from its client's options. */
export interface SessionOptions {
  /** Called with every message's text, for verbose logging. Exceptions from it are ignored. */
  trace?: TraceFn;
  /**
   * Applied to every request that fails because the connection was lost (not closed by us):
   * those pending when it went and those made afterwards. This is the one place where the owner
   * of the QEMU process turns "connection ended" into "QEMU exited, here is why".
   */
  explainLostConnection?: ExplainLostConnection;
  /**
   * Limit for connecting and the opening exchange, where it differs from the client's command
   * limit (`timeoutMs`, its default): a start-up deadline bounds the one, not the other.
   */
  connectTimeoutMs?: number;
}

/** How a protocol client describes itself to {@link Session}. */
export interface SessionSetup<F> extends SessionOptions {
  /** The protocol's name in messages: `QMP`, `qtest`, `gdb`, `HMP`. */
  protocol: string;
  /** The peer, printable. */
  address: string;
  decoder: FrameDecoder<F>;
  /**
   * How a request cut off by the connection's end is described (default `not answered`). QMP says
   * `aborted`: its commands may already have run.
   */
  cutOff?: string;
  /**
   * After {@link Session.close}, how long the peer may take to close its side before the socket is
   * cut, so writes still queued go out (default: cut at once).
   */
  closeGraceMs?: number;
}

/** How {@link Session.exchange} waits for one reply. */
export interface ExchangeOptions {
  /** The key the reply will be matched by (default: the next sequence number, for protocols that answer in order). */
  id?: number;
  /** Time limit for the reply (default: none). */
  timeoutMs?: number | undefined;
  /**
   * What a timeout does to the session: `close` it (default), because replies without ids would
   * take a late one for the next request's; or `keep` it, for replies matched by id.
   */
  onTimeout?: 'close' | 'keep';
  /** What to trace as sent (default: nothing). */
  trace?: string;
}

/** What {@link Session.begin} allows the opening exchange. */
export interface HandshakeLimit {
  timeoutMs: number;
  /** When the time started counting, e.g. before connecting (default: now). */
  startedAt?: number;
}
