/**
 * Issue #4's benchmarks, through Vitest's Node API on bench/vitest-project: the `qemu` fixture's
 * per-test overhead against the core's launch→close cycle, and a suite's throughput with 2 workers
 * against 1.
 */
import { fileURLToPath } from 'node:url';
import { startVitest } from 'vitest/node';
import { median } from './measure.js';
import { COUNT } from './vitest-project/tests.js';

const root = fileURLToPath(new URL('./vitest-project/', import.meta.url));

/** Wall time of one `vitest run` over the files matching `filter`. */
async function vitestRun(filter: string, maxWorkers: number): Promise<number> {
  const start = performance.now();
  const vitest = await startVitest('test', [filter], {
    root,
    config: `${root}vitest.config.ts`,
    watch: false,
    maxWorkers,
    reporters: [{}], // silent: measuring, not reading
  });
  const failed = vitest.state.getCountOfFailedTests();
  await vitest.close();
  if (failed) throw new Error(`${failed} benchmark tests failed (${filter})`);
  return performance.now() - start;
}

export async function benchFixture(rounds = 3): Promise<void> {
  const empty: number[] = [];
  const fixture: number[] = [];
  const bare: number[] = [];
  for (let r = 0; r < rounds; r++) {
    empty.push(await vitestRun('empty.fault', 1));
    fixture.push(await vitestRun('fixture.fault', 1));
    bare.push(await vitestRun('launch.fault', 1));
  }
  // Per test, with Vitest's own per-run and per-test costs (the empty file) taken out of both.
  const perTest = (runs: number[]) => (median(runs) - median(empty)) / COUNT;
  const ours = perTest(fixture);
  const baseline = perTest(bare);
  console.log(
    `${'qemu fixture setup+teardown vs launch→close'.padEnd(44)} ours ${ours.toFixed(2).padStart(8)} ms   baseline ${baseline.toFixed(2).padStart(8)} ms   ratio ${(ours / baseline).toFixed(2)}x   (goal ≤ 1.1x)`,
  );
}

export async function benchWorkers(rounds = 2): Promise<void> {
  const one: number[] = [];
  const two: number[] = [];
  for (let r = 0; r < rounds; r++) {
    one.push(await vitestRun('throughput-', 1));
    two.push(await vitestRun('throughput-', 2));
  }
  const speedup = median(one) / median(two);
  console.log(
    `${'suite throughput, 2 workers vs 1'.padEnd(44)} 2 workers ${median(two).toFixed(0).padStart(6)} ms   1 worker ${median(one).toFixed(0).padStart(6)} ms   speed-up ${speedup.toFixed(2)}x   (goal ≥ 1.7x)`,
  );
}
