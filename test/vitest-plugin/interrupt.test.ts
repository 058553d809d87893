// No QEMU outlives an interrupted run: Ctrl-C in a terminal (SIGINT to the whole process group),
// SIGINT, SIGTERM or SIGKILL to Vitest's main process only (what CI runners, process managers and
// the OOM killer send).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { alive, eventually, projectConfig, projectDir, type QemuLogLine, qemusWith, removeWorkDirs, workDir } from './run-fixture.js';

afterAll(removeWorkDirs);

const vitestCli = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

async function interruptedRun(signal: NodeJS.Signals, target: 'group' | 'main') {
  const work = await workDir();
  const marker = `qf-meta-${randomUUID().slice(0, 12)}`;
  const log = join(work, 'qemu.jsonl');
  // A clean environment for the child Vitest: without this worker's VITEST_* variables.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  const child = spawn(process.execPath, [vitestCli, 'run', '--config', projectConfig, 'hang.fault.test.ts'], {
    cwd: projectDir,
    env: { ...env, QF_MARKER: marker, QF_PID_LOG: log },
    detached: true, // its own process group, like a shell job
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let qemuDir: string | undefined;
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const started = await eventually(() => existsSync(log) && readFileSync(log, 'utf8').includes('"hang"'), 30_000);
    expect(started, output).toBe(true);
    const qemu = JSON.parse(readFileSync(log, 'utf8').trim()) as QemuLogLine;
    qemuDir = qemu.dir;
    expect(alive(qemu.pid)).toBe(true);

    if (target === 'group') process.kill(-child.pid!, signal);
    else child.kill(signal);
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000));
    expect(await Promise.race([exited, timeout]), output).not.toBe('timeout');

    expect(await eventually(() => !alive(qemu.pid), 5000), 'QEMU outlived the run').toBe(true);
    expect(await eventually(() => qemusWith(marker).length === 0, 5000)).toBe(true);
    // The fixture's teardown ran (the run was cancelled, not killed): the private temp dir is gone
    // too. A terminal's Ctrl-C also hits the workers, which die of it before any cleanup runs; QEMU
    // dies with them, but the temp dir stays (the core's exit handlers do not run on SIGINT).
    if (target === 'main') expect(existsSync(qemu.dir)).toBe(false);
  } finally {
    // Whatever of this run is still around (on failure: an orphaned worker and its QEMU) is in the
    // child's process group.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // ESRCH: nothing left
    }
    // The temp dir a worker killed by Ctrl-C leaves behind (see above).
    if (qemuDir) await rm(qemuDir, { recursive: true, force: true });
  }
}

describe('an interrupted run', () => {
  test('Ctrl-C (SIGINT to the process group) leaves no QEMU', () => interruptedRun('SIGINT', 'group'));
  test('SIGINT to the Vitest process only leaves no QEMU', () => interruptedRun('SIGINT', 'main'));
  // Vitest's main process exits at once on SIGINT/SIGTERM without stopping its fork workers; the
  // orphaned worker would keep its QEMU until the hanging test's timeout (120 s here).
  test('SIGTERM to the Vitest process only leaves no QEMU', () => interruptedRun('SIGTERM', 'main'));
  test('SIGKILL to the Vitest process leaves no QEMU', () => interruptedRun('SIGKILL', 'main'));
});
