import { setTimeout as sleep } from 'node:timers/promises';
import { QemuFaultError } from '../errors.js';
import type { Deadline } from './start-up-limit.js';

/** Retrying while nothing listens yet: a QEMU we just started creates its sockets as it starts. */
export interface UntilListening {
  /** True once retrying is pointless (QEMU has exited). */
  gaveUp(): boolean;
  /** Resolves when a missing socket file may have appeared (by default: after a millisecond). */
  appeared?(): Promise<void>;
}

/**
 * Connects to `what` within `deadline`, giving `connect` the time left. With `untilListening`, a
 * refused socket is tried again every millisecond, a missing one when it `appeared`. A connection
 * that times out, or fails once the deadline has passed, fails with the limit's
 * `ReadyTimeoutError`, which names the option to raise.
 */
export async function connectWithin<T>(
  what: string,
  deadline: Deadline,
  connect: (timeoutMs: number) => Promise<T>,
  untilListening?: UntilListening,
): Promise<T> {
  for (;;) {
    try {
      return await connect(deadline.remaining());
    } catch (err) {
      const code = err instanceof QemuFaultError ? err.code : undefined;
      if (untilListening?.gaveUp()) throw err;
      // A timeout is the deadline's by construction (`connect` was given what was left of it), even
      // when its timer fired a moment before the deadline's clock says so: libuv starts timers at
      // the loop's cached time.
      if (code === 'TIMEOUT' || (deadline.passed && code === 'CONNECTION_FAILED')) throw deadline.limit.error(what, err);
      if (!untilListening || code !== 'CONNECTION_FAILED') throw err;
      // No file yet: wait for it. Refused: it exists, and QEMU listens a moment after it binds.
      const missing = (err as Error).cause && ((err as Error).cause as NodeJS.ErrnoException).code === 'ENOENT';
      await (missing && untilListening.appeared ? untilListening.appeared() : sleep(1));
    }
  }
}
