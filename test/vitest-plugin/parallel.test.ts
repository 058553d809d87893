// Workers run their own QEMUs side by side; --shard splits the files over machines.
import { afterAll, describe, expect, test } from 'vitest';
import { alive, eventually, qemusWith, removeWorkDirs, runFixture } from './run-fixture.js';

afterAll(removeWorkDirs);

describe('parallel and sharded runs', () => {
  test('three files in three workers run three QEMUs at once without collisions', async () => {
    const run = await runFixture(['parallel-'], { maxWorkers: 3, fileParallelism: true });
    expect(run.tests.map((t) => t.state)).toEqual(['passed', 'passed', 'passed']);
    expect(run.qemus).toHaveLength(3);
    expect(new Set(run.qemus.map((q) => q.pid)).size).toBe(3);
    expect(new Set(run.qemus.map((q) => q.dir)).size).toBe(3);
    // Each test holds its QEMU for 1.5 s after logging; all three were logged within that window,
    // so the QEMUs were running at the same time.
    const times = run.qemus.map((q) => q.at);
    expect(Math.max(...times) - Math.min(...times)).toBeLessThan(1500);
    expect(await eventually(() => run.qemus.every((q) => !alive(q.pid)))).toBe(true);
    expect(qemusWith(run.marker)).toEqual([]);
  });

  test('--shard 1/2 and 2/2 split the files without overlap', async () => {
    const first = await runFixture(['parallel-'], { shard: '1/2' });
    const second = await runFixture(['parallel-'], { shard: '2/2' });
    const files = (run: typeof first) => run.qemus.map((q) => q.test).sort();
    expect(files(first).length).toBeGreaterThan(0);
    expect(files(second).length).toBeGreaterThan(0);
    expect([...files(first), ...files(second)].sort()).toEqual(['parallel/1', 'parallel/2', 'parallel/3']);
  });
});
