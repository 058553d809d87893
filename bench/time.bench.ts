/**
 * Issue #3's benchmarks: emulation speed with a time trigger armed against plain `-icount` TCG,
 * trigger latencies, and a determinism soak (the same scenario in 50 fresh QEMUs).
 */
import { readFileSync } from 'node:fs';
import { type LaunchedQemu, type LaunchOptions, launch } from '@qemu-fault/core';
import type { PluginHit } from '../packages/core/src/plugin/plugin-channel.js';
import { firmware } from '../test/support/firmware.js';
import { type Figure, median, speedRatio } from './measure.js';

/** What one busy run cost: wall time and the QEMU process's CPU time, ms. */
interface BusyRun {
  wallMs: number;
  cpuMs: number;
}

/**
 * Boots the example firmware in its CPU-bound benchmark mode and times it from `cont` to exit. The
 * QEMU process's CPU time is sampled from /proc while it runs (its last sample, at most 10 ms
 * before it exits, for both sides alike): on a shared machine wall time also measures the
 * neighbours, CPU time only the emulation.
 */
async function timeBusyRun(
  options: Partial<LaunchOptions>,
  iterations: number,
  arm?: (q: LaunchedQemu) => Promise<unknown>,
): Promise<BusyRun> {
  const qemu = await launch({ machine: 'mps2-an385', kernel: firmware(), ...options });
  try {
    await qemu.write(qemu.symbol('busy_iterations'), iterations, 4);
    await arm?.(qemu);
    const pid = qemu.process.pid!;
    const startCpu = cpuMsOf(pid) ?? 0;
    let lastCpu = startCpu;
    const sampler = setInterval(() => (lastCpu = cpuMsOf(pid) ?? lastCpu), 10);
    const start = performance.now();
    const result = await qemu.run({ timeoutMs: 120_000 });
    const wallMs = performance.now() - start;
    clearInterval(sampler);
    if (result.reason !== 'exit' || result.exitCode !== 0) throw new Error(`busy run ended with ${JSON.stringify(result)}`);
    return { wallMs, cpuMs: lastCpu - startCpu };
  } finally {
    await qemu.close();
  }
}

/** User + system CPU time of a live process, ms (undefined once it is gone). */
function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ = 100
  } catch {
    return undefined;
  }
}

export async function benchEmulationSpeed(iterations = 250_000_000, rounds = 3): Promise<Figure[]> {
  const plain: BusyRun[] = [];
  const armed: BusyRun[] = [];
  for (let i = 0; i < rounds; i++) {
    plain.push(await timeBusyRun({ time: false, args: ['-icount', 'shift=0,sleep=off'] }, iterations));
    // A time trigger armed far beyond the run's end: the plugin counts, checks, never fires.
    armed.push(await timeBusyRun({}, iterations, (q) => q.notify(10 ** 15, () => undefined)));
  }
  const m = (runs: BusyRun[], key: keyof BusyRun) => median(runs.map((r) => r[key]));
  // Speed is the inverse of time: ratio = plain time / armed time.
  return [
    speedRatio('emulation speed, trigger armed vs -icount (CPU)', m(armed, 'cpuMs'), m(plain, 'cpuMs'), 0.9, ['armed', 'plain']),
    speedRatio('emulation speed, trigger armed vs -icount (wall)', m(armed, 'wallMs'), m(plain, 'wallMs'), 0.9, ['armed', 'plain']),
  ];
}

export async function benchTriggerLatency(count = 500): Promise<Figure> {
  const qemu = await launch({ machine: 'mps2-an385', kernel: firmware() });
  try {
    await qemu.write(qemu.symbol('busy_iterations'), 1_000_000_000, 4);
    // The plugin stamps each freeze (and each wake-up) with the host's monotonic clock.
    const plugin = (qemu as unknown as { channels: { plugin: { on(e: 'hit', l: (h: PluginHit) => void): void } } }).channels.plugin;
    const hits: PluginHit[] = [];
    plugin.on('hit', (hit) => hits.push(hit));
    const toCallback: number[] = [];
    const callbackEnds: bigint[] = [];
    let left = count;
    const callback = async () => {
      toCallback.push(Number(process.hrtime.bigint() - hits.at(-1)!.frozenAtNs!) / 1000);
      if (--left > 0) await qemu.notify(20_000, callback, { relative: true });
      callbackEnds.push(process.hrtime.bigint());
    };
    await qemu.notify(1_000_000, callback);
    await qemu.run({ forNs: 1_000_000 + 20_000 * count + 1_000_000, timeoutMs: 120_000 });
    // Callback end -> guest running again: the next freeze's wake stamp minus when the callback ended.
    const toResume = hits
      .slice(2)
      .map((hit, i) => Number(hit.lastWakeNs! - callbackEnds[i]!) / 1000)
      .filter((us) => us > 0);
    return {
      title: 'trigger latency (median)',
      detail: `trigger→callback ${median(toCallback).toFixed(1)} µs, callback end→guest running ${median(toResume).toFixed(1)} µs`,
    };
  } finally {
    await qemu.close();
  }
}

/** Runs one fixed scenario and returns everything it observed, as text. */
async function scenario(): Promise<string> {
  const qemu = await launch({ machine: 'mps2-an385', kernel: firmware() });
  try {
    const seen: unknown[] = [];
    await qemu.notify(12_345_678, async (ctx) => {
      seen.push(
        ctx.timeNs,
        String(ctx.instructions),
        ctx.pc,
        await qemu.read(qemu.symbol('loop_counter'), 4),
        await qemu.read(0xe000e018, 4),
      );
      await qemu.write(qemu.symbol('calib_offset'), (await qemu.read(qemu.symbol('calib_offset'), 4)) ^ 0x10, 4);
    });
    const result = await qemu.run({ timeoutMs: 20_000 });
    return JSON.stringify({ seen, result, serial: qemu.serial.text });
  } finally {
    await qemu.close();
  }
}

/** The soak's figure, and its outcomes (to compare across QEMU versions). */
export interface Soak {
  figure: Figure;
  outcomes: ReadonlySet<string>;
}

export async function benchDeterminismSoak(runs = 50): Promise<Soak> {
  const outcomes = new Set<string>();
  for (let i = 0; i < runs; i++) outcomes.add(await scenario());
  return {
    figure: {
      title: 'determinism soak: distinct outcomes',
      detail: `${runs} runs in fresh QEMUs`,
      value: outcomes.size,
      shown: String(outcomes.size),
      goal: { op: '≤', limit: 1 },
    },
    outcomes,
  };
}
