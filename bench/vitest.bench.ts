/**
 * The Vitest side, through Vitest's Node API: the `qemu` fixture's per-test cost against the
 * core's launch→close cycle (bench/vitest-project), a suite's throughput with 2 workers against 1,
 * and the examples' fault suite end to end, cold (no warm spare) and warm, on 1 and 2 workers.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startVitest } from 'vitest/node';
import { machineTicks } from '../packages/vitest-plugin/src/idle-cores.js';
import { type CpuProfile, formatProfile, profileCpu } from './cpu-profile.js';
import { costRatio, cpuMsWithChildren, type Figure, median, speedRatio } from './measure.js';
import { COUNT } from './vitest-project/tests.js';
import { type WarmSetting, warmToEnv } from './warm-setting.js';

const project = fileURLToPath(new URL('./vitest-project/', import.meta.url));
const examplesSuite = fileURLToPath(new URL('./examples-suite/vitest.config.ts', import.meta.url));
const examples = fileURLToPath(new URL('../examples/', import.meta.url));

interface Run {
  /** Test files matching these (Vitest CLI filters); all of the project's when empty. */
  filters: string[];
  workers: number;
  /** The `qemu` fixture's warm spare (read by both configs from QF_BENCH_WARM). */
  warm: WarmSetting;
  /** The examples' suite instead of bench/vitest-project. */
  examples?: boolean;
  /** `isolate: false`: a worker runs many files in one module state (default: Vitest's isolation). */
  shared?: boolean;
}

/**
 * What one `vitest run` took: wall time, and CPU time of this process, its workers and their QEMUs,
 * ms; and the cores other jobs kept busy meanwhile (the machine's busy time less ours, over the
 * wall time): the lock keeps the other benchmarks away, not builds or editors.
 */
interface Took {
  wallMs: number;
  cpuMs: number;
  othersCores: number;
}

/** Busy CPU time of the whole machine so far, ms (USER_HZ = 100). */
function machineBusyMs(): number {
  const ticks = machineTicks();
  return ticks ? (ticks.total - ticks.idle) * 10 : 0;
}

async function vitestRun(run: Run): Promise<Took> {
  process.env.QF_BENCH_WARM = warmToEnv(run.warm);
  const cpu = cpuMsWithChildren();
  const busy = machineBusyMs();
  const start = performance.now();
  const vitest = await startVitest('test', run.filters, {
    root: run.examples ? examples : project,
    config: run.examples ? examplesSuite : `${project}vitest.config.ts`,
    watch: false,
    maxWorkers: run.workers,
    ...(run.shared ? { isolate: false } : {}),
    reporters: [{}], // silent: measuring, not reading
  });
  const failed = vitest.state.getCountOfFailedTests();
  await vitest.close();
  delete process.env.QF_BENCH_WARM;
  // startVitest sets a failing exit code on failures; ours are reported by throwing.
  process.exitCode = undefined;
  if (failed) throw new Error(`${failed} benchmark tests failed (${run.filters.join(' ') || 'examples'})`);
  const wallMs = performance.now() - start;
  const cpuMs = cpuMsWithChildren() - cpu;
  return { wallMs, cpuMs, othersCores: Math.max(0, machineBusyMs() - busy - cpuMs) / wallMs };
}

/** `rounds` interleaved runs of each variant; median wall times and CPU times, ms. */
async function medians<K extends string>(
  variants: Record<K, Run>,
  rounds: number,
): Promise<Record<K, number> & { cpu: Record<K, number>; others: Record<K, number> }> {
  const keys = Object.keys(variants) as K[];
  const took = Object.fromEntries(keys.map((k) => [k, [] as Took[]])) as unknown as Record<K, Took[]>;
  for (let r = 0; r < rounds; r++) {
    for (const key of keys) took[key].push(await vitestRun(variants[key]));
  }
  const of = (pick: (t: Took) => number) => Object.fromEntries(keys.map((k) => [k, median(took[k].map(pick))])) as Record<K, number>;
  return { ...of((t) => t.wallMs), cpu: of((t) => t.cpuMs), others: of((t) => t.othersCores) };
}

/**
 * Per test, with Vitest's own per-run and per-test costs (a file of empty tests) taken out. 5
 * rounds, not 2: the median of 2 moved by more than ±5% between two runs.
 */
export async function benchFixture(rounds = 5): Promise<Figure[]> {
  const m = await medians(
    {
      empty: { filters: ['empty.fault'], workers: 1, warm: true },
      cold: { filters: ['fixture.fault'], workers: 1, warm: false },
      warm: { filters: ['fixture.fault'], workers: 1, warm: true },
      bare: { filters: ['launch.fault'], workers: 1, warm: true },
    },
    rounds,
  );
  const perTest = (ms: number) => (ms - m.empty) / COUNT;
  return [
    costRatio('qemu fixture (warm) vs launch→close, per test', perTest(m.warm), perTest(m.bare), 'ms', 1.1),
    costRatio('qemu fixture (cold) vs launch→close, per test', perTest(m.cold), perTest(m.bare), 'ms', 1.1),
  ];
}

/** bench/vitest-project's throughput files (80 tests, each running the firmware to its end). */
export async function benchWorkers(rounds = 4): Promise<Figure[]> {
  const m = await medians(
    {
      one: { filters: ['throughput-'], workers: 1, warm: 'auto' },
      two: { filters: ['throughput-'], workers: 2, warm: 'auto' },
    },
    rounds,
  );
  const speedUp = speedRatio('suite of 80 runs, 2 workers vs 1 (warm: auto)', m.two, m.one, 1.7, ['2 workers', '1 worker']);
  // The CPU both need, and how many cores each kept busy: what 2 workers can gain at most.
  const busy = (k: 'one' | 'two') =>
    `${(m.cpu[k] / 1000).toFixed(1)} s CPU, ${(m.cpu[k] / m[k]).toFixed(2)} cores busy, other jobs ${m.others[k].toFixed(2)} cores`;
  speedUp.detail += `; 1 worker ${busy('one')}; 2 workers ${busy('two')}`;
  return [withBound(speedUp, m.cpu.one / m.one)];
}

/**
 * The examples' fault suite end to end (12 files, 31 tests), cold and warm (the default, `auto`),
 * 1 and 2 workers, and with `isolate: false`.
 */
export async function benchExamplesSuite(rounds = 5): Promise<Figure[]> {
  const m = await medians(
    {
      cold1: { filters: [], workers: 1, warm: false, examples: true },
      warm1: { filters: [], workers: 1, warm: 'auto', examples: true },
      cold2: { filters: [], workers: 2, warm: false, examples: true },
      warm2: { filters: [], workers: 2, warm: 'auto', examples: true },
      shared1: { filters: [], workers: 1, warm: 'auto', examples: true, shared: true },
      shared2: { filters: [], workers: 2, warm: 'auto', examples: true, shared: true },
    },
    rounds,
  );
  const line = (title: string, key: keyof typeof m.cpu): Figure => ({
    title,
    detail: `CPU ${(m.cpu[key] / 1000).toFixed(2)} s (${(m.cpu[key] / m[key]).toFixed(2)} cores busy; other jobs ${m.others[key].toFixed(2)} cores)`,
    shown: `${(m[key] / 1000).toFixed(2)} s`,
  });
  return [
    line("examples' suite, cold, 1 worker", 'cold1'),
    line("examples' suite, warm (auto), 1 worker", 'warm1'),
    line("examples' suite, cold, 2 workers", 'cold2'),
    line("examples' suite, warm (auto), 2 workers", 'warm2'),
    withBound(
      speedRatio("examples' suite, 2 workers vs 1 (warm: auto)", m.warm2, m.warm1, 1.7, ['2 workers', '1 worker']),
      m.cpu.warm1 / m.warm1,
    ),
    // The README's recommendation for fault suites, measured beside Vitest's default isolation.
    line("examples' suite, isolate: false, 1 worker", 'shared1'),
    line("examples' suite, isolate: false, 2 workers", 'shared2'),
  ];
}

/**
 * Adds to a speed-up's detail about the most that more workers can gain over 1 for the same CPU
 * time: a 1-worker run already keeps `busyOne` cores busy (its QEMUs run beside the worker, the
 * spare starts beside the test), and no run keeps more than the machine's cores busy.
 */
function withBound(speedUp: Figure, busyOne: number): Figure {
  const cores = availableParallelism();
  return {
    ...speedUp,
    detail: `${speedUp.detail}; ceiling ≈ ${(cores / busyOne).toFixed(2)}x (${cores} cores / ${busyOne.toFixed(2)} busy on 1 worker)`,
  };
}

/** Where the CPU goes in one run of `run` (see cpu-profile.ts), with its wall time. */
export async function profileRun(title: string, run: Run): Promise<Figure> {
  const sampler = profileCpu();
  const { wallMs: ms } = await vitestRun(run);
  const profile: CpuProfile = sampler.stop();
  const total = Object.entries(profile)
    .filter(([kind]) => kind !== 'QEMU vCPU threads')
    .reduce((sum, [, cpu]) => sum + cpu, 0);
  return {
    title,
    shown: `${(ms / 1000).toFixed(2)} s`,
    detail: `CPU ${(total / 1000).toFixed(2)} s (${(total / ms).toFixed(2)} cores busy): ${formatProfile(profile)}`,
  };
}
