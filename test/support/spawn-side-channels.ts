import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { qemuBinary } from './qemus.js';

/**
 * Temporary test helper (until packages/core/src/launch is usable here): a paused
 * `qemu-system-arm -M mps2-an385` with the qtest and gdbstub channels on unix sockets.
 */
export interface SideChannelQemu {
  readonly dir: string;
  readonly qtestPath: string;
  readonly gdbPath: string;
  readonly child: ChildProcess;
  /** Resolves once QEMU has exited. */
  readonly exited: Promise<void>;
  /** What QEMU wrote to stderr so far. */
  stderr(): string;
  /** Kills QEMU (SIGKILL unless told otherwise), waits for it, removes the directory. Idempotent. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<SideChannelQemu>();
const READY_TIMEOUT_MS = 10_000;

export async function spawnSideChannels(extraArgs: string[] = []): Promise<SideChannelQemu> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-side-'));
  const qtestPath = join(dir, 'qtest.sock');
  const gdbPath = join(dir, 'gdb.sock');
  const args = [
    '-M',
    'mps2-an385',
    '-S',
    '-display',
    'none',
    '-nodefaults',
    '-net',
    'none',
    '-accel',
    'tcg',
    '-qtest',
    `unix:${qtestPath},server=on,wait=off`,
    '-qtest-log',
    '/dev/null',
    '-gdb',
    `unix:${gdbPath},server=on,wait=off`,
    ...extraArgs,
  ];
  const child = spawn(qemuBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.once('error', (err) => {
    stderr += `spawn failed: ${err.message}\n`;
  });
  let killed = false;
  const qemu: SideChannelQemu = {
    dir,
    qtestPath,
    gdbPath,
    child,
    exited,
    stderr: () => stderr,
    async kill(signal = 'SIGKILL') {
      if (!killed) {
        killed = true;
        running.delete(qemu);
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      }
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
  running.add(qemu);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(existsSync(qtestPath) && existsSync(gdbPath))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await qemu.kill();
      throw new Error(`QEMU did not create its sockets (exit ${child.exitCode ?? child.signalCode}):\n${stderr}`);
    }
    await sleep(10);
  }
  // The socket file appears at bind(); give listen() a moment so the first connect is not refused.
  await sleep(20);
  return qemu;
}

/** Kills every QEMU this helper started that is still around; for afterAll. */
export async function killAllSideChannels(): Promise<void> {
  await Promise.all([...running].map((q) => q.kill()));
}
