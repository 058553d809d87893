/**
 * The Vitest side, through Vitest's Node API: the `qemu` fixture's per-test cost against the
 * core's launch→close cycle (bench/vitest-project), a suite's throughput with 2 workers against 1,
 * and the examples' fault suite end to end, cold (no warm spare) and warm, on 1 and 2 workers.
 */
import { fileURLToPath } from 'node:url';
import { startVitest } from 'vitest/node';
import { type CpuProfile, formatProfile, profileCpu } from './cpu-profile.js';
import { costRatio, type Figure, median, speedRatio } from './measure.js';
import { COUNT } from './vitest-project/tests.js';

const project = fileURLToPath(new URL('./vitest-project/', import.meta.url));
const examplesSuite = fileURLToPath(new URL('./examples-suite/vitest.config.ts', import.meta.url));
const examples = fileURLToPath(new URL('../examples/', import.meta.url));

interface Run {
  /** Test files matching these (Vitest CLI filters); all of the project's when empty. */
  filters: string[];
  workers: number;
  /** The `qemu` fixture's warm spare (read by both configs from QF_BENCH_WARM). */
  warm: boolean;
  /** The examples' suite instead of bench/vitest-project. */
  examples?: boolean;
}

/** Wall time of one `vitest run`, ms. */
async function vitestRun(run: Run): Promise<number> {
  process.env.QF_BENCH_WARM = run.warm ? '1' : '0';
  const start = performance.now();
  const vitest = await startVitest('test', run.filters, {
    root: run.examples ? examples : project,
    config: run.examples ? examplesSuite : `${project}vitest.config.ts`,
    watch: false,
    maxWorkers: run.workers,
    reporters: [{}], // silent: measuring, not reading
  });
  const failed = vitest.state.getCountOfFailedTests();
  await vitest.close();
  delete process.env.QF_BENCH_WARM;
  // startVitest sets a failing exit code on failures; ours are reported by throwing.
  process.exitCode = undefined;
  if (failed) throw new Error(`${failed} benchmark tests failed (${run.filters.join(' ') || 'examples'})`);
  return performance.now() - start;
}

/** `rounds` interleaved runs of each variant; median wall times, ms. */
async function medians<K extends string>(variants: Record<K, Run>, rounds: number): Promise<Record<K, number>> {
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, [] as number[]])) as unknown as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (const key of Object.keys(variants) as K[]) times[key].push(await vitestRun(variants[key]));
  }
  return Object.fromEntries(Object.entries<number[]>(times).map(([k, t]) => [k, median(t)])) as Record<K, number>;
}

/** Per test, with Vitest's own per-run and per-test costs (a file of empty tests) taken out. */
export async function benchFixture(rounds = 3): Promise<Figure[]> {
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
export async function benchWorkers(rounds = 2): Promise<Figure[]> {
  const m = await medians(
    {
      one: { filters: ['throughput-'], workers: 1, warm: true },
      two: { filters: ['throughput-'], workers: 2, warm: true },
    },
    rounds,
  );
  return [speedRatio('suite of 80 runs, 2 workers vs 1 (warm)', m.two, m.one, 1.7, ['2 workers', '1 worker'])];
}

/** The examples' fault suite end to end (8 files, 15 tests), cold and warm, 1 and 2 workers. */
export async function benchExamplesSuite(rounds = 2): Promise<Figure[]> {
  const m = await medians(
    {
      cold1: { filters: [], workers: 1, warm: false, examples: true },
      warm1: { filters: [], workers: 1, warm: true, examples: true },
      cold2: { filters: [], workers: 2, warm: false, examples: true },
      warm2: { filters: [], workers: 2, warm: true, examples: true },
    },
    rounds,
  );
  const line = (title: string, ms: number): Figure => ({ title, detail: '', shown: `${(ms / 1000).toFixed(2)} s` });
  return [
    line("examples' suite, cold, 1 worker", m.cold1),
    line("examples' suite, warm, 1 worker", m.warm1),
    line("examples' suite, cold, 2 workers", m.cold2),
    line("examples' suite, warm, 2 workers", m.warm2),
    speedRatio("examples' suite, 2 workers vs 1 (warm)", m.warm2, m.warm1, 1.7, ['2 workers', '1 worker']),
  ];
}

/** Where the CPU goes in one run of `run` (see cpu-profile.ts), with its wall time. */
export async function profileRun(title: string, run: Run): Promise<Figure> {
  const sampler = profileCpu();
  const ms = await vitestRun(run);
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
