/**
 * Starts a real `qemu-system-arm` for integration tests: paused (-S), QMP on a unix socket in a
 * private temp dir. A stop-gap until the project's launcher (packages/core/src/launch/) is usable here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { qemuBinary } from './qemus.js';

export interface SpawnedQemu {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly qmpPath: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything QEMU wrote to stderr so far. */
  stderr(): string;
  /** SIGKILLs QEMU if it still runs, waits for it, removes the temp dir. Idempotent. */
  kill(): Promise<void>;
}

export interface SpawnQemuOptions {
  machine?: string;
  extraArgs?: string[];
  /** How long to wait for the QMP socket to appear (default 10 s). */
  timeoutMs?: number;
}

/**
 * A minimal Cortex-M image: vector table (SP = 0x20001000, every handler = an idle loop at 0x40) and
 * `b .` at 0x40. Without *some* image, `cont` makes QEMU 7.2 abort at once with
 * "Lockup: can't escalate 3 to HardFault", since the vector table is all zeros.
 */
function idleFirmware(): Buffer {
  const image = Buffer.alloc(0x42);
  image.writeUInt32LE(0x2000_1000, 0);
  for (let vector = 1; vector < 16; vector++) image.writeUInt32LE(0x41, vector * 4); // thumb bit set
  image.writeUInt16LE(0xe7fe, 0x40); // b .
  return image;
}

/** Every QEMU we started and have not reaped, so a crashing test run still kills them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function spawnQemu(options: SpawnQemuOptions = {}): Promise<SpawnedQemu> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-qemu-'));
  const qmpPath = join(dir, 'qmp.sock');
  const firmware = join(dir, 'idle.bin');
  await writeFile(firmware, idleFirmware());
  const args = [
    '-M',
    options.machine ?? 'mps2-an385',
    '-S',
    '-nographic',
    '-nodefaults',
    '-display',
    'none',
    '-kernel',
    firmware,
    '-qmp',
    `unix:${qmpPath},server=on,wait=off`,
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(qemuBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8192)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  // A missing binary surfaces as 'error' (and no 'exit'); fold it into `exited`.
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  let killed: Promise<void> | undefined;
  const qemu: SpawnedQemu = {
    child,
    dir,
    qmpPath,
    exited,
    stderr: () => stderr,
    kill: () =>
      (killed ??= (async () => {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
          child.kill('SIGKILL');
          await Promise.race([exited, spawnError]);
        }
        live.delete(child);
        await rm(dir, { recursive: true, force: true });
      })()),
  };

  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let gone: string | undefined;
  void exited.then(({ code, signal }) => (gone = `exited (code ${code}, signal ${signal})`));
  void spawnError.then((err) => (gone = `failed to start: ${err.message}`));
  while (!(await isSocket(qmpPath))) {
    if (gone || Date.now() > deadline) {
      await qemu.kill();
      throw new Error(`qemu-system-arm ${gone ?? 'did not create its QMP socket in time'}\n${stderr}`);
    }
    await sleep(10);
  }
  return qemu;
}

/**
 * Waits until something accepts connections on the unix socket `path` (a QEMU started by hand,
 * which creates it as it starts: a loaded machine takes seconds), for at most `timeoutMs`.
 */
export async function untilListening(path: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(path, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${path} after ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function isSocket(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isSocket();
  } catch {
    return false;
  }
}
