// No QEMU and no temp dir outlives its owner, however the owner ends: a normal end, an error, an
// exit without close(), Ctrl-C, SIGTERM, SIGKILL of a Node process; and in Vitest a failing test,
// a test timeout, a SIGKILLed worker, Ctrl-C of the run. Each case runs a real owner in a child
// process and finds its QEMU by a unique `-name`, since other tests run QEMUs at the same time.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { alive, cleanEnv, eventually, processesWith } from '../support/processes.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ownerScript = fileURLToPath(new URL('./fixtures/leak-owner.ts', import.meta.url));
const childConfig = fileURLToPath(new URL('./fixtures/leaks/vitest.config.ts', import.meta.url));
const vitestCli = join(root, 'node_modules/vitest/vitest.mjs');

/** What an owner reports once its QEMU runs. */
interface OwnerReport {
  pid: number;
  qemuPid: number;
  dir: string;
  reaperPid: number | undefined;
}

interface Owner {
  child: ChildProcess;
  marker: string;
  exited: Promise<number | null>;
  output(): string;
  /** Resolves with the first report (the QEMU is up by then). */
  report(): Promise<OwnerReport>;
}

const scratch: string[] = [];
afterAll(() => Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true }))));

/**
 * Starts an owner in its own process group (as a shell job is), so Ctrl-C can be sent to the
 * group as a terminal does. Reports come on stdout (Node owners) or in a log file (Vitest owners).
 */
async function startOwner(argv: (marker: string) => string[], fromLog: boolean): Promise<Owner> {
  const marker = `qf-leak-${randomUUID().slice(0, 12)}`;
  const work = await mkdtemp(join(tmpdir(), 'qf-leaktest-'));
  scratch.push(work);
  const log = join(work, 'owner.jsonl');
  const child = spawn(process.execPath, argv(marker), {
    cwd: root,
    env: cleanEnv({ QF_LEAK_MARKER: marker, QF_LEAK_LOG: log }),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const firstLine = (): string | undefined =>
    (fromLog ? (existsSync(log) ? readFileSync(log, 'utf8') : '') : output).split('\n').find((l) => l.startsWith('{"pid"'));
  return {
    child,
    marker,
    exited,
    output: () => output,
    report: async () => {
      let gone = false;
      void exited.then(() => (gone = true));
      expect(await eventually(() => firstLine() !== undefined || gone, 60_000), output).toBe(true);
      const line = firstLine();
      if (!line) throw new Error(`the owner ended before launching QEMU:\n${output}`);
      return JSON.parse(line) as OwnerReport;
    },
  };
}

const nodeOwner = (mode: string, ...flags: string[]) =>
  startOwner((marker) => ['--import', 'tsx', ownerScript, marker, mode, ...flags], false);
/** `pattern`: Vitest's -t, a regex over the full test name. */
const vitestOwner = (pattern: string) => startOwner(() => [vitestCli, 'run', '--config', childConfig, '-t', pattern], true);

/** The owner's QEMU, its temp dir and its reaper are all gone (the owner itself too). */
async function expectNothingLeft(owner: Owner, report: OwnerReport): Promise<void> {
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000).unref());
  expect(await Promise.race([owner.exited, timeout]), owner.output()).not.toBe('timeout');
  expect(await eventually(() => processesWith(owner.marker).length === 0), `QEMU ${owner.marker} outlived its owner`).toBe(true);
  expect(alive(report.qemuPid)).toBe(false);
  expect(await eventually(() => !existsSync(report.dir)), `temp dir ${report.dir} was left behind`).toBe(true);
  // Every private dir of the owner (`qemu-fault-<pid>-*`), also those of QEMUs it never reported (a warm spare).
  const dirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith(`qemu-fault-${report.pid}-`));
  expect(await eventually(() => dirs().length === 0), `temp dirs ${dirs().join(', ')} were left behind`).toBe(true);
  if (report.reaperPid) expect(await eventually(() => !alive(report.reaperPid!)), 'the reaper outlived its owner').toBe(true);
}

/** Whatever is left of a failed case is in the owner's process group, or named by its marker. */
function killLeftovers(owner: Owner): void {
  try {
    process.kill(-owner.child.pid!, 'SIGKILL');
  } catch {
    // ESRCH: nothing left
  }
  for (const pid of processesWith(owner.marker)) process.kill(pid, 'SIGKILL');
}

async function endOwner(owner: Owner, how: 'itself' | 'ctrl-c' | NodeJS.Signals): Promise<void> {
  const report = await owner.report();
  try {
    // Ctrl-C in a terminal: SIGINT to the whole foreground process group, QEMU included.
    if (how !== 'itself') expect(alive(report.qemuPid), 'QEMU runs before its owner is ended').toBe(true);
    if (how === 'ctrl-c') process.kill(-owner.child.pid!, 'SIGINT');
    else if (how !== 'itself') process.kill(report.pid, how);
    await expectNothingLeft(owner, report);
  } finally {
    killLeftovers(owner);
  }
}

describe('a Node process that launched QEMU', () => {
  test('ends normally after close()', async () => {
    const owner = await nodeOwner('close');
    await endOwner(owner, 'itself');
    expect(await owner.exited).toBe(0);
  });

  test('exits without close()', () => nodeOwner('exit').then((owner) => endOwner(owner, 'itself')));
  test('dies of an uncaught error', () => nodeOwner('throw').then((owner) => endOwner(owner, 'itself')));
  test('is interrupted by Ctrl-C', () => nodeOwner('hang').then((owner) => endOwner(owner, 'ctrl-c')));
  test('gets SIGTERM', () => nodeOwner('hang').then((owner) => endOwner(owner, 'SIGTERM')));
  test('gets SIGKILL', () => nodeOwner('hang').then((owner) => endOwner(owner, 'SIGKILL')));
  // Without our plugin, setpriv's parent-death signal is what ends QEMU.
  test('gets SIGKILL, with time: false (no plugin)', () => nodeOwner('hang', '--no-time').then((owner) => endOwner(owner, 'SIGKILL')));
  test('gets SIGTERM, with time: false (no plugin)', () => nodeOwner('hang', '--no-time').then((owner) => endOwner(owner, 'SIGTERM')));
});

describe('a Vitest run whose test launched QEMU', () => {
  test('has a failing test that never closes it', async () => {
    const owner = await vitestOwner('^fails without closing$');
    await endOwner(owner, 'itself');
    expect(await owner.exited).toBe(1);
  });

  test('has a test that times out', async () => {
    const owner = await vitestOwner('^times out$');
    await endOwner(owner, 'itself');
    expect(owner.output()).toMatch(/timed out/i);
  });

  test('has its worker SIGKILLed', async () => {
    const owner = await vitestOwner('^hangs until killed$');
    await endOwner(owner, 'SIGKILL'); // the pid reported is the worker's
    expect(await owner.exited).not.toBe(0);
  });

  test('is interrupted by Ctrl-C', () => vitestOwner('^hangs until killed$').then((owner) => endOwner(owner, 'ctrl-c')));
});

describe('a Vitest run whose `qemu` fixture has a warm spare up', () => {
  test('has a failing test', async () => {
    const owner = await vitestOwner('fixture fails');
    await endOwner(owner, 'itself');
    expect(await owner.exited).toBe(1);
  });

  test('has a test that times out', async () => {
    const owner = await vitestOwner('fixture times out');
    await endOwner(owner, 'itself');
    expect(owner.output()).toMatch(/timed out/i);
  });

  test('has its worker SIGKILLed', () => vitestOwner('fixture hangs until killed').then((owner) => endOwner(owner, 'SIGKILL')));
  test('is interrupted by Ctrl-C', () => vitestOwner('fixture hangs until killed').then((owner) => endOwner(owner, 'ctrl-c')));
  test('gets SIGTERM', () => vitestOwner('fixture hangs until killed').then((owner) => endOwner(owner, 'SIGTERM')));
});
