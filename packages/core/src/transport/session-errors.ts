import { ConnectionClosedError, ProtocolError, QemuFaultError, TimeoutError } from '../errors.js';
import type { CloseInfo } from './close-info.js';

/**
 * The errors and close reasons of sessions, worded in one place. `protocol` and `address` name
 * the connection, e.g. `QMP` and `/tmp/vm/qmp.sock`.
 */

/** `<what>: <protocol> connection to <address> ended (<reason>)`, with the close info's error as cause. */
export function connectionEnded(what: string, protocol: string, address: string, info: CloseInfo): ConnectionClosedError {
  return new ConnectionClosedError(
    `${what}: ${protocol} connection to ${address} ended (${info.reason})`,
    info.error ? { cause: info.error } : undefined,
  );
}

/** Why a connection ended when the peer closed it, saying what it cut off (`partial`, '' if nothing). */
export function peerClosed(address: string, partial: string): string {
  return `${address} closed the connection${partial ? ` in the middle of a reply (${JSON.stringify(partial)})` : ''}`;
}

/** Why a session without reply ids ended when a reply was late. */
export function lateReply(timeout: TimeoutError): string {
  return `${timeout.message}; closed because a late reply would be taken for the next request's`;
}

/** The handshake did not finish within `timeoutMs`; `hint` says what may be why ('' if nothing). */
export function handshakeTimeout(protocol: string, address: string, timeoutMs: number, hint: string): TimeoutError {
  return new TimeoutError(`${protocol} handshake with ${address}`, timeoutMs, hint || undefined);
}

/**
 * Our own errors pass as they are; anything else thrown while handling the peer (`during`: its
 * input, or the handshake) is a bug of ours, reported as a protocol failure rather than let loose.
 */
export function asProjectError(err: unknown, protocol: string, during: 'input' | 'handshake'): QemuFaultError {
  return err instanceof QemuFaultError ? err : new ProtocolError(`failed to handle ${protocol} ${during}: ${String(err)}`);
}

/** Keeps messages readable when a request or reply carries kilobytes of data. */
export function abbreviate(text: string, maxChars = 100): string {
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}
