/**
 * Where QEMU's main thread waits, read from `/proc/<pid>/task/<pid>/wchan`: the one way to see,
 * from outside, that it sleeps in `pause_all_vcpus` waiting for a vCPU to stop (a futex wait; the
 * idle main loop polls instead). Stopping a guest our plugin holds frozen needs to know it (see
 * framework/stop-held.ts). Where /proc cannot tell, a fixed pause stands in.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long to wait for the main thread before releasing anyway. */
const MAX_WAIT_MS = 50;
/** Stand-in pause where the wait channel is not readable. */
const BLIND_WAIT_MS = 2;
/** Pause between two looks at the wait channel. */
const POLL_PAUSE_MS = 0.02;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Where QEMU's main thread sleeps. The file stays open and is re-read in place (pread at 0): the
 * wait is polled in a tight loop, and open+read+close each time cost 4× as much (measured:
 * 6.3 µs against 1.5 µs), CPU the QEMU being waited for needs on a 2-core machine.
 */
export class MainThreadWatch {
  private fd: number | undefined;
  private readonly buffer = Buffer.alloc(64);
  /** Whether the kernel shows wait channels here (undefined until known). */
  private usable: boolean | undefined;

  constructor(private readonly pid: number | undefined) {}

  private read(): string | undefined {
    try {
      this.fd ??= openSync(`/proc/${this.pid}/task/${this.pid}/wchan`, 'r');
      return this.buffer.toString('latin1', 0, readSync(this.fd, this.buffer, 0, this.buffer.length, 0));
    } catch {
      return undefined;
    }
  }

  /** Resolves once the main thread waits for the vCPU to stop, or after a bounded wait. */
  async untilStopRequested(): Promise<void> {
    if (this.pid === undefined || this.usable === false) return void (await sleep(BLIND_WAIT_MS));
    const deadline = performance.now() + MAX_WAIT_MS;
    let seen = 0;
    while (performance.now() < deadline) {
      const wchan = this.read();
      if (wchan === undefined) {
        this.usable = false;
        return void (await sleep(BLIND_WAIT_MS));
      }
      // '0' while the thread runs (on its way to the wait) — or always, on kernels without wchan.
      if (wchan !== '0') this.usable = true;
      // Twice in a row (one event-loop turn apart): a passing lock contention is not the stop.
      if (wchan.includes('futex')) {
        if (++seen >= 2) return;
      } else {
        seen = 0;
        // Sleep a little between looks (blocking, but for microseconds). Spinning on the event
        // loop instead took a core from the QEMU being waited for: 1 stop in 5 then took 2-4 ms
        // instead of 0.2-0.4 ms (2 cores, 2 workers).
        Atomics.wait(PAUSE, 0, 0, POLL_PAUSE_MS);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.usable ??= false;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
