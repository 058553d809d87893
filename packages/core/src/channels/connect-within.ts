import { setTimeout as sleep } from 'node:timers/promises';
import { QemuFaultError } from '../errors.js';
import type { Deadline } from './start-up-limit.js';

/** Retrying while nothing listens yet: a QEMU we just started creates its sockets as it starts. */
export interface UntilListening {
  /** True once retrying is pointless (QEMU has exited). */
  gaveUp(): boolean;
}

/**
 * Connects to `what` within `deadline`, giving `connect` the time left. With `untilListening`, a
 * refused or missing socket is tried again every millisecond. A connection that fails because the
 * deadline passed fails with the limit's `ReadyTimeoutError`, which names the option to raise.
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
      if (deadline.passed && (code === 'CONNECTION_FAILED' || code === 'TIMEOUT')) throw deadline.limit.error(what, err);
      if (!untilListening || code !== 'CONNECTION_FAILED') throw err;
      await sleep(1);
    }
  }
}
