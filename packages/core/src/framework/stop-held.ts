/**
 * Stopping a guest our plugin holds frozen, cleanly enough to save or load a snapshot.
 *
 * QEMU can only stop (or load a snapshot) once the vCPU thread leaves the plugin's freeze, and
 * whatever remains of the block it froze in then runs before the vCPU notices the stop request.
 * If it is released before QEMU's main thread has asked it to stop, it runs on for a while (long
 * enough to reach a semihosting exit, which ends QEMU). So: send `stop`, wait until the main
 * thread sleeps in `pause_all_vcpus` (see launch/main-thread-watch.ts), then release.
 */
import { TimeoutError } from '../errors.js';
import type { MainThreadWatch } from '../launch/main-thread-watch.js';

/** How long QEMU gets to report the stop before it counts as wedged. */
const STOP_TIMEOUT_MS = 5000;

/** What stopping a held guest takes. */
export interface HeldGuest {
  watch: MainThreadWatch;
  /** Sends `stop`; resolves when QEMU has stopped. */
  sendStop(): Promise<unknown>;
  /** Lets the frozen vCPU go on. */
  release(): Promise<unknown>;
  /** Settles when QEMU exits (the rest of the block may end the program), if we know. */
  exited: Promise<unknown> | undefined;
}

/**
 * Stops a frozen guest: `stop`, wait for the stop request to reach the vCPU, release the freeze,
 * and wait until QEMU reports it stopped (or exits).
 */
export async function stopHeldGuest(guest: HeldGuest): Promise<void> {
  const stopping = guest.sendStop();
  stopping.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const wedged = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError('stopping the guest', STOP_TIMEOUT_MS)), STOP_TIMEOUT_MS);
  });
  try {
    try {
      await guest.watch.untilStopRequested();
    } finally {
      // Not awaited: the vCPU goes on as soon as the plugin hears it; the stop's reply says the rest.
      guest.release().catch(() => undefined);
    }
    await Promise.race([stopping, ...(guest.exited ? [guest.exited] : []), wedged]);
  } finally {
    clearTimeout(timer);
  }
}
