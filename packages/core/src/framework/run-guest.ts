import { ConnectionClosedError, InvalidArgumentError, QemuExitedError } from '../errors.js';
import type { ExitInfo } from '../launch/qemu-process.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import type { SerialCapture } from '../serial/serial-capture.js';
import type { FreezeServer } from '../triggers/freeze-server.js';

/** When {@link runGuest} should stop, besides the guest ending by itself. */
export interface RunOptions {
  /** Guest-time budget in ns from now: the guest is held frozen exactly there (`reason: 'time'`). */
  forNs?: number;
  /** Stop when this appears on the serial port (string: literally), or when this predicate holds (polled). */
  until?: string | RegExp | (() => boolean | Promise<boolean>);
  /** Wall-clock safety net (default 60 000 ms): a hung guest never hangs the caller. */
  timeoutMs?: number;
  /** Stop at a guest reset instead of letting the board reboot. */
  stopOnReset?: boolean;
  /** How often an `until` predicate is evaluated (default 10 ms). */
  pollMs?: number;
}

/** Why a run ended (`held`: a trigger callback asked to end it there, see `TriggerContext.hold`). */
export type RunStopReason = 'exit' | 'shutdown' | 'reset' | 'time' | 'held' | 'until' | 'timeout';

/** What {@link runGuest} resolves with. */
export interface RunResult {
  reason: RunStopReason;
  /** Guest time at the stop in ns (undefined when QEMU is gone and no time source said). */
  timeNs: number | undefined;
  /** The guest's exit code (semihosting SYS_EXIT) when QEMU exited. */
  exitCode?: number | undefined;
  /** Set when QEMU did not exit but was killed or crashed (e.g. `SIGABRT` on a CPU lockup, `SIGKILL`). */
  signal?: string | undefined;
}

/** What a run needs from the framework. */
export interface RunDeps {
  qmp: QmpClient;
  engine: FreezeServer | undefined;
  serial: SerialCapture | undefined;
  /** Settles when QEMU exits (launched QEMUs only). */
  exited: Promise<ExitInfo> | undefined;
  resume(): Promise<void>;
  pause(): Promise<void>;
  now(): Promise<number | undefined>;
}

/**
 * Starts or resumes the guest and serves triggers until it ends, a callback holds it
 * (`reason: 'held'`, the guest frozen there), or an option says stop. Rejects with the first
 * trigger callback failure (the guest stays frozen where it failed).
 */
export async function runGuest(deps: RunDeps, options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (!(timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  if (options.forNs !== undefined && !(Number.isSafeInteger(options.forNs) && options.forNs > 0)) {
    throw new InvalidArgumentError(`forNs must be a positive integer number of nanoseconds, got ${options.forNs}`);
  }
  const pending = deps.engine?.takeFailure();
  if (pending && !lostQemu(pending.cause ?? pending)) throw pending;

  const cleanups: Array<() => void> = [];
  try {
    const stopped = new Promise<{ reason: RunStopReason; exitCode?: number | undefined; signal?: string | undefined }>(
      (resolve, reject) => {
        const end = (reason: RunStopReason, exitCode?: number, signal?: string) => resolve({ reason, exitCode, signal });
        const timer = setTimeout(() => end('timeout'), timeoutMs);
        cleanups.push(() => clearTimeout(timer));
        if (deps.exited) void deps.exited.then((exit) => end('exit', exit.exitCode, exit.signal));
        else void deps.qmp.closed.then(() => end('exit'));
        // A launched QEMU that shuts down (a reset under -no-reboot too) is exiting: its exit, which
        // follows, ends the run. The event cannot: it is lost when QEMU exits before writing it.
        if (!deps.exited) {
          cleanups.push(deps.qmp.events.on('SHUTDOWN', (e) => end(e.data['reason'] === 'guest-reset' ? 'reset' : 'shutdown')));
        }
        if (options.stopOnReset) cleanups.push(deps.qmp.events.on('RESET', (e) => e.data['reason'] === 'guest-reset' && end('reset')));
        if (deps.engine) {
          // A callback cut short by QEMU's end (its command failed because QEMU exited) is that
          // end, which the exit then reports; any other failure is the run's.
          cleanups.push(deps.engine.onFailure((err) => !lostQemu(err.cause ?? err) && reject(err)));
          cleanups.push(deps.engine.onHold((reason) => end(reason)));
        }
        const until = options.until;
        if (typeof until === 'function') {
          const poll = setInterval(async () => {
            try {
              if (await until()) end('until');
            } catch (err) {
              reject(err);
            }
          }, options.pollMs ?? 10);
          cleanups.push(() => clearInterval(poll));
        } else if (until !== undefined) {
          if (!deps.serial) throw new InvalidArgumentError('run({ until: pattern }) needs the serial port');
          // The run's own timer bounds the run; this wait only ends with it.
          const stop = new AbortController();
          cleanups.push(() => stop.abort());
          deps.serial.waitFor(until, { fresh: true, timeoutMs: timeoutMs + 1000, signal: stop.signal }).then(
            () => end('until'),
            () => undefined,
          );
        }
      },
    );
    stopped.catch(() => undefined);

    if (options.forNs !== undefined) {
      if (!deps.engine) throw new InvalidArgumentError('run({ forNs }) needs the time plugin');
      const engine = deps.engine;
      const start = await engine.now();
      const handle = await engine.notify(start + options.forNs, () => engine.hold('time'));
      cleanups.push(() => void handle.cancel().catch(() => undefined));
    }
    const wasOpen = !deps.qmp.isClosed;
    try {
      await deps.resume();
    } catch (err) {
      // A guest that ends soon after it resumes (a semihosting exit, a reset under -no-reboot) can
      // take QEMU down before the resume's reply is written: that is the run's end, not a failure
      // to start it. QEMU closing the connection means it is going: its exit is awaited without a
      // bound of its own (a loaded machine reaps it late), under the run's own timer.
      if (!wasOpen || !lostQemu(err)) throw err;
      const ended = await stopped;
      if (ended.reason !== 'exit' && ended.reason !== 'shutdown') throw err;
    }
    const { reason, exitCode, signal } = await stopped;
    if (reason === 'until' || reason === 'timeout' || reason === 'reset') await deps.pause().catch(() => undefined);
    const exit = reason === 'exit' ? { exitCode, ...(signal ? { signal } : {}) } : {};
    return { reason, timeNs: reason === 'exit' ? undefined : await deps.now(), ...exit };
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
}

/** A failure that says QEMU went away: a connection to it closed, or it is known to have exited. */
function lostQemu(err: unknown): boolean {
  return err instanceof ConnectionClosedError || err instanceof QemuExitedError;
}
