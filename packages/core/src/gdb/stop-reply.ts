import { ProtocolError } from '../errors.js';

/** Why the target stopped, when the stop reply (or the client) can tell. */
export type StopReason = 'breakpoint' | 'watch' | 'rwatch' | 'awatch';

/** A parsed stop reply (`S05`, `T05thread:01;watch:20000010;`). */
export interface StopReply {
  /** GDB signal number: 5 (TRAP) for breakpoints, watchpoints and steps, 2 (INT) for interrupts and QMP `stop`. */
  signal: number;
  reason?: StopReason;
  /** The watched address for watchpoints (QEMU reports the watchpoint's start, not the exact access), the pc for breakpoints. */
  address?: bigint;
  /** Thread id as the stub spells it (`01`: the first CPU). */
  thread?: string;
}

/** A stop packet: the target stopped, exited (`Wxx`) or was killed by a signal (`Xxx`). */
export type StopPacket = { kind: 'stopped'; stop: StopReply } | { kind: 'exited'; code: number } | { kind: 'terminated'; signal: number };

/** Whether a payload is a stop packet rather than an ordinary reply (which never starts this way). */
export function isStopPacket(payload: string): boolean {
  return /^[STWX][0-9a-fA-F]{2}/.test(payload);
}

/** Whether a payload is console output (`O` + hex), which stubs may send at any time while running. */
export function isConsoleOutput(payload: string): boolean {
  return /^O([0-9a-fA-F]{2})+$/.test(payload);
}

const WATCH_KEYS = new Set<string>(['watch', 'rwatch', 'awatch']);

/** @throws {ProtocolError} the payload is not a stop packet. */
export function parseStopPacket(payload: string): StopPacket {
  if (!isStopPacket(payload)) throw new ProtocolError(`not a stop reply: '${payload}'`);
  const code = parseInt(payload.slice(1, 3), 16);
  switch (payload[0]) {
    case 'W':
      return { kind: 'exited', code };
    case 'X':
      return { kind: 'terminated', signal: code };
    case 'S':
      return { kind: 'stopped', stop: { signal: code } };
  }
  const stop: StopReply = { signal: code };
  for (const pair of payload.slice(3).split(';')) {
    if (pair === '') continue;
    const colon = pair.indexOf(':');
    const key = colon === -1 ? pair : pair.slice(0, colon);
    const value = colon === -1 ? '' : pair.slice(colon + 1);
    if (key === 'thread') stop.thread = value;
    else if (key === 'swbreak' || key === 'hwbreak') stop.reason = 'breakpoint';
    else if (WATCH_KEYS.has(key)) {
      if (!/^[0-9a-fA-F]+$/.test(value)) throw new ProtocolError(`stop reply '${payload}' has a bad ${key} address`);
      stop.reason = key as StopReason;
      stop.address = BigInt(`0x${value}`);
    }
    // Other keys (register values, core, library…) are not needed.
  }
  return { kind: 'stopped', stop };
}
