// The `qemu` fixture when the guest exits while `cont` is in flight (a QEMU stand-in forces the
// race, see test/support/held-cont): the test passes, and its QEMU is gone afterwards.
import { afterAll, expect, test } from 'vitest';
import { heldContQemu } from '../support/held-cont/held-cont.js';
import { alive, eventually, qemusWith, removeWorkDirs, runFixture } from './run-fixture.js';

afterAll(removeWorkDirs);

test('a guest exit racing the resume ends the fixture test passing, its QEMU closed', async () => {
  process.env.QF_HELD_CONT_QEMU = await heldContQemu();
  try {
    const run = await runFixture(['exit-race.fault.test.ts']);
    expect(run.tests.map((t) => [t.name, t.state, t.errors.map((e) => e.message)])).toEqual([
      ['ends the run with the exit when the guest exits while cont is in flight', 'passed', []],
    ]);
    expect(run.qemus[0]?.commandLine.join(' ')).toContain('-name');
    expect(await eventually(() => run.qemus.every((q) => !alive(q.pid)))).toBe(true);
    expect(qemusWith(run.marker)).toEqual([]);
  } finally {
    delete process.env.QF_HELD_CONT_QEMU;
  }
});
