import { isDeepStrictEqual } from 'node:util';
import { type LaunchedQemu, type LaunchOptions, launch } from '@qemu-fault/core';

/** A QEMU being launched ahead, and the options it was launched with. */
interface Spare {
  options: LaunchOptions;
  qemu: Promise<LaunchedQemu>;
}

/**
 * One QEMU launched ahead of need, so that the next test does not wait for QEMU's start-up. It is
 * started (paused, `-S`) while the current test runs, on a core the test leaves idle, and handed
 * to the next test whose launch options are the same; any other options get a fresh launch. A QEMU
 * that has sat paused is indistinguishable from a fresh one: with `-icount sleep=off` guest time
 * does not move under `-S`, and nothing has touched its state.
 */
export class WarmSpare {
  private spare: Spare | undefined;

  /**
   * @param live - the worker's running QEMUs: a spare is in it from when it is up until it is
   *   handed over or closed, so that the worker's emergency clean-up closes spares too.
   */
  constructor(private readonly live: Set<LaunchedQemu>) {}

  /**
   * A QEMU for `options`: the spare if it was launched with equal options (functions such as `log`
   * compared by identity), else a fresh `launch()`. A spare of other options is closed.
   */
  async take(options: LaunchOptions): Promise<LaunchedQemu> {
    const spare = this.spare;
    this.spare = undefined;
    if (spare && isDeepStrictEqual(spare.options, options)) {
      const qemu = await spare.qemu.catch(() => undefined);
      if (qemu) {
        this.live.delete(qemu);
        return qemu;
      }
      // The spare failed to start: launching again gives the test the error itself, as without a spare.
    } else if (spare) {
      void this.discard(spare);
    }
    return launch(options);
  }

  /** Starts launching a spare with `options`, unless one is already there. */
  prepare(options: LaunchOptions): void {
    if (this.spare) return;
    const qemu = launch(options);
    // A failed spare only costs the next test a fresh launch, which reports the error then.
    qemu.then(
      (q) => this.live.add(q),
      () => undefined,
    );
    this.spare = { options, qemu };
  }

  /** Closes the spare, if any (at the end of the worker). */
  async close(): Promise<void> {
    const spare = this.spare;
    this.spare = undefined;
    if (spare) await this.discard(spare);
  }

  private async discard(spare: Spare): Promise<void> {
    const qemu = await spare.qemu.catch(() => undefined);
    if (!qemu) return;
    try {
      await qemu.close();
    } finally {
      this.live.delete(qemu);
    }
  }
}
