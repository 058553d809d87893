// A fixture test fails on purpose; its report must carry the guest's serial output, QEMU's stderr
// tail, the injection trace and the guest time, in every place a user or CI looks.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { QemuDiagnosticsArtifact } from '../../packages/vitest-plugin/src/report.js';
import { alive, eventually, type FixtureRun, listFiles, qemusWith, removeWorkDirs, runFixture } from './run-fixture.js';

afterAll(removeWorkDirs);

let run: FixtureRun;

beforeAll(async () => {
  run = await runFixture(['failing.fault.test.ts']);
});

const failedName = 'a deliberately failing test > expects a safe state that never comes';

describe('a failing fault test', () => {
  test('keeps its own error first and gets the QEMU report as a second error', () => {
    const failed = run.find(failedName);
    expect(failed.state).toBe('failed');
    expect(failed.errors).toHaveLength(2);
    expect(failed.errors[0]!.message).toContain('expected the serial output to contain "SAFE STATE"');
    const report = failed.errors[1]!;
    expect(report.name).toBe('QemuFailureReport');
    expect(report.message).toContain('guest time:');
    // serial output
    expect(report.message).toMatch(/--- guest serial output ---\n[\s\S]*boot: mps2-an385 faultdemo[\s\S]*done/);
    // QEMU's stderr tail (-d cpu_reset)
    expect(report.message).toMatch(/--- QEMU stderr ---\n[\s\S]*CPU Reset \(CPU 0\)/);
    // the injection trace: the write of calib_offset
    expect(report.message).toMatch(/--- injection trace \(1 entries\) ---\n.*write @0x[0-9a-f]+ size 4 value 0x9 from cpu 0/);
  });

  test('a test that throws its own error gets the report too', () => {
    const failed = run.find('throws an error of its own');
    expect(failed.errors.map((e) => e.name)).toEqual(['Error', 'QemuFailureReport']);
    expect(failed.errors[1]!.message).toContain('value 0x5a5a');
    expect(failed.errors[1]!.message).toContain('paused (prelaunch)'); // it never called cont()
    expect(failed.errors[1]!.message).toContain('guest time: 0 ns'); // ... so no guest time has passed
  });

  test('a passing test gets no report and no artifact', () => {
    const passed = run.find('passes and gets no report');
    expect(passed.state).toBe('passed');
    expect(passed.artifacts).toHaveLength(0);
  });

  test('shows in the default reporter output', () => {
    expect(run.output).toContain('QemuFailureReport: QEMU state at the failure above:');
    expect(run.output).toContain('boot: mps2-an385 faultdemo');
    expect(run.output).toContain('CPU Reset (CPU 0)');
    expect(run.output).toMatch(/write @0x[0-9a-f]+ size 4 value 0x9 from cpu 0/);
  });

  test('becomes a GitHub Actions annotation at the failing line', () => {
    const annotations = run.output
      .split('\n')
      .filter((l) => l.startsWith('::error ') && l.includes('expects a safe state that never comes'));
    expect(annotations).toHaveLength(2);
    expect(annotations[1]).toMatch(/,line=13,column=25::QemuFailureReport: QEMU state at the failure above:%0A/);
    expect(annotations[1]).toContain('boot: mps2-an385 faultdemo');
  });

  test('is in the JUnit report', () => {
    expect(run.junit).toContain('QemuFailureReport');
    expect(run.junit).toContain('boot: mps2-an385 faultdemo');
    expect(run.junit).toContain('CPU Reset (CPU 0)');
    expect(run.junit).toMatch(/write @0x[0-9a-f]+ size 4 value 0x9 from cpu 0/);
  });

  test('records an artifact whose attachments land in attachmentsDir with the full logs', async () => {
    const failed = run.find(failedName);
    const artifacts = failed.artifacts.filter((a) => a.type === 'qemu-fault:diagnostics') as QemuDiagnosticsArtifact[];
    expect(artifacts).toHaveLength(1);
    const artifact = artifacts[0]!;
    expect(artifact.commandLine).toContain('mps2-an385');
    expect(artifact.summary).toBe(failed.errors[1]!.message);
    expect(artifact.attachments.map((a) => a.name).sort()).toEqual(['serial', 'stderr', 'trace']);
    for (const attachment of artifact.attachments) {
      expect(attachment.path!.startsWith(run.attachmentsDir)).toBe(true);
    }
    const text = (name: string) => readFileSync(artifact.attachments.find((a) => a.name === name)!.path!, 'utf8');
    expect(text('serial')).toContain('done');
    expect(text('stderr')).toContain('CPU Reset');
    expect(text('trace')).toContain('value 0x9');
    expect(text('serial').split('\n')[0]).toBe(`# ${failedName} (failing.fault.test.ts)`);
    // two failed tests, three files each
    expect(await listFiles(run.attachmentsDir)).toHaveLength(6);
  });

  test('leaves no QEMU behind', async () => {
    expect(run.qemus).toHaveLength(3);
    expect(await eventually(() => run.qemus.every((q) => !alive(q.pid)))).toBe(true);
    expect(qemusWith(run.marker)).toEqual([]);
  });
});
