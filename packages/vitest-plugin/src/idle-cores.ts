import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** CPU time of the whole machine so far, in clock ticks: idle (with I/O wait) and in all. */
export interface CpuTicks {
  idle: number;
  total: number;
}

/** The machine's `cpu` line of `/proc/stat`; undefined where there is none (not Linux). */
export function machineTicks(): CpuTicks | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').slice(0, 256).split('\n', 1)[0]!;
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const ticks = line.split(/\s+/).slice(1, 9).map(Number);
    return { idle: ticks[3]! + ticks[4]!, total: ticks.reduce((sum, t) => sum + t, 0) };
  } catch {
    return undefined;
  }
}

/**
 * Whether the machine has had a core to spare lately: at least half a core idle on average since
 * the last answer (a window of at least 20 ms; a shorter one keeps the last answer). A warm spare
 * starts while a test runs and needs such a core: on a machine whose cores are all busy (as many
 * workers as cores, or other jobs) it only competes with the running tests and the other workers,
 * and is wasted when the next test's options differ. Where `/proc/stat` cannot be read, the answer
 * is always yes.
 */
export class IdleCores {
  private since: CpuTicks | undefined;
  private answer = true;

  /** @param ticks - the machine's CPU ticks so far; @param cores - how many cores they are of. */
  constructor(
    private readonly ticks: () => CpuTicks | undefined = machineTicks,
    private readonly cores = availableParallelism(),
  ) {
    this.since = ticks();
  }

  /** Whether a spare may start now (see the class). */

  spare(): boolean {
    const now = this.ticks();
    if (!now || !this.since) return true;
    const elapsed = now.total - this.since.total;
    // USER_HZ is 100: 20 ms on each core.
    if (elapsed >= 2 * this.cores) {
      this.answer = ((now.idle - this.since.idle) / elapsed) * this.cores >= 0.5;
      this.since = now;
    }
    return this.answer;
  }
}
