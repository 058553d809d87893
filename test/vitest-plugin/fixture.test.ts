// The `qemu` fixture against real QEMU: launch and close, per-describe overrides, timeouts.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { alive, eventually, qemusWith, removeWorkDirs, runFixture } from './run-fixture.js';

afterAll(removeWorkDirs);

describe('the qemu fixture', () => {
  test('launches QEMU per test, applies per-file and per-describe overrides and closes every QEMU', async () => {
    const run = await runFixture(['basic.fault.test.ts', 'per-file.fault.test.ts']);
    expect(run.tests.map((t) => [t.name, t.state, t.errors.map((e) => e.message)])).toEqual(run.tests.map((t) => [t.name, 'passed', []]));
    expect(run.tests).toHaveLength(6);

    const byTest = new Map(run.qemus.map((q) => [q.test, q]));
    const kernelOf = (name: string) => byTest.get(name)!.commandLine[byTest.get(name)!.commandLine.indexOf('-kernel') + 1];
    expect(kernelOf('basic/default')).toMatch(/\/examples\/firmware\/build\/mps2-an385\/faultdemo\.elf$/);
    expect(kernelOf('basic/lm3s6965evb')).toMatch(/\/build\/lm3s6965evb\/faultdemo\.elf$/);
    expect(kernelOf('basic/lm3s6965evb+args')).toMatch(/\/build\/lm3s6965evb\/faultdemo\.elf$/);
    expect(kernelOf('basic/after-describe')).toMatch(/\/build\/mps2-an385\/faultdemo\.elf$/);
    expect(kernelOf('per-file/lm3s6965evb')).toMatch(/\/build\/lm3s6965evb\/faultdemo\.elf$/);

    // Closed: processes gone, private temp dirs removed, nothing with this run's marker left.
    expect(new Set(run.qemus.map((q) => q.pid)).size).toBe(6);
    expect(await eventually(() => run.qemus.every((q) => !alive(q.pid)))).toBe(true);
    expect(run.qemus.filter((q) => existsSync(q.dir))).toEqual([]);
    expect(qemusWith(run.marker)).toEqual([]);
  });

  test('a test that times out, in its body or while QEMU starts, still closes QEMU', async () => {
    const run = await runFixture(['timeout.fault.test.ts']);
    const body = run.find('hangs past its timeout');
    expect(body.state).toBe('failed');
    expect(body.errors[0]!.message).toMatch(/Test timed out in 1500ms/);
    expect(body.errors[1]!.name).toBe('QemuFailureReport');
    expect(body.errors[1]!.message).toContain('running'); // QEMU was still running the guest at the timeout
    expect(body.errors[1]!.message).toMatch(/guest time: [1-9]\d* ns/);
    expect(body.errors[1]!.message).toContain('boot: mps2-an385 faultdemo');

    const launch = run.find('times out while QEMU is still starting');
    expect(launch.state).toBe('failed');
    expect(launch.errors[0]!.message).toMatch(/Test timed out in 5ms/);
    // The next test in the file checks that the late-starting QEMU was closed right away.
    expect(run.find('finds no QEMU left over from the launch that timed out').state).toBe('passed');

    expect(run.qemus.map((q) => q.test)).toEqual(['timeout/body']);
    expect(await eventually(() => !alive(run.qemus[0]!.pid))).toBe(true);
    expect(await eventually(() => qemusWith(run.marker).length === 0)).toBe(true);
  });
});

describe('the warm spare', () => {
  const warmRun = async (warm: boolean) => {
    process.env.QF_WARM = warm ? '1' : '0';
    try {
      return await runFixture(['warm.fault.test.ts']);
    } finally {
      delete process.env.QF_WARM;
    }
  };

  test('hands the next test a QEMU launched during the one before, in the same state as a fresh one', async () => {
    const run = await warmRun(true);
    // Each later test compares its first freeze (registers, RAM, stack, time) with the first test's.
    expect(run.tests.map((t) => [t.name, t.state, t.errors.map((e) => e.message)])).toEqual(run.tests.map((t) => [t.name, 'passed', []]));
    const [one, two, three] = ['warm/1', 'warm/2', 'warm/3'].map((name) => run.qemus.find((q) => q.test === name)!);
    expect(one!.running).toContain(two!.pid);
    expect(two!.running).toContain(three!.pid);
    // The last test of the file launches no spare: nobody would use it.
    expect(three!.running).toEqual([three!.pid]);
    expect(await eventually(() => run.qemus.every((q) => !alive(q.pid)))).toBe(true);
    expect(run.qemus.filter((q) => existsSync(q.dir))).toEqual([]);
    expect(qemusWith(run.marker)).toEqual([]);
  });

  test('is off with qemuFault({ warm: false }): one QEMU at a time, same states', async () => {
    const run = await warmRun(false);
    expect(run.tests.map((t) => t.state)).toEqual(['passed', 'passed', 'passed']);
    expect(run.qemus.map((q) => q.running)).toEqual(run.qemus.map((q) => [q.pid]));
  });
});
