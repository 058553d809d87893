/** QEMUs for the research scripts, through the project's own clients. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GdbClient } from '../packages/core/src/gdb/gdb-client.js';
import { buildPlugin } from '../packages/core/src/plugin/build-plugin.js';
import { PluginListener } from '../packages/core/src/plugin/listener.js';
import type { PluginChannel } from '../packages/core/src/plugin/plugin-channel.js';

export interface QemuUnderStudy {
  machine: string;
  kernel: string;
  /** Directory of the qemu-system-* binaries (default: PATH). */
  qemuDir: string | undefined;
  /** The ELF's architecture (arm, aarch64, riscv) and word size. */
  target: string;
  bits: number;
}

const ARGS = [
  '-display',
  'none',
  '-monitor',
  'none',
  '-nodefaults',
  '-semihosting-config',
  'enable=on,target=native',
  '-icount',
  'shift=0,sleep=off',
];

function binary(q: QemuUnderStudy): string {
  const name = q.target === 'riscv' ? `qemu-system-riscv${q.bits}` : `qemu-system-${q.target}`;
  return q.qemuDir ? join(q.qemuDir, name) : name;
}

async function started(q: QemuUnderStudy, extra: string[]): Promise<{ child: ChildProcess; dir: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-research-'));
  const child = spawn(binary(q), ['-M', q.machine, '-kernel', q.kernel, ...ARGS, ...extra], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    dir,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A paused QEMU with its gdbstub, connected. */
export async function startGdbQemu(q: QemuUnderStudy): Promise<{ gdb: GdbClient; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-research-gdb-'));
  const sock = join(dir, 'gdb.sock');
  const qemu = await started(q, ['-S', '-gdb', `unix:${sock},server=on,wait=off`]);
  for (let i = 0; i < 500; i++) {
    const gdb = await GdbClient.connect(sock, { timeoutMs: 5000 }).catch(() => undefined);
    if (gdb)
      return {
        gdb,
        stop: async () => {
          await gdb.close();
          await qemu.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    await sleep(10);
  }
  await qemu.stop();
  throw new Error('the gdbstub never listened');
}

/** A QEMU with the plugin, frozen before instruction 0. */
export async function startPluginQemu(
  q: QemuUnderStudy,
  pluginArgs: Record<string, string>,
): Promise<{ ch: PluginChannel; stop(): Promise<void> }> {
  const plugin = await buildPlugin({ qemuBinary: binary(q) });
  const dir = await mkdtemp(join(tmpdir(), 'qf-research-p-'));
  const listener = await PluginListener.create(join(dir, 'p.sock'));
  const qemu = await started(q, ['-plugin', listener.qemuArg(plugin.path, pluginArgs)]);
  const ch = await listener.accept({ timeoutMs: 20_000 });
  await ch.nextHit(5000); // start
  return {
    ch,
    stop: async () => {
      await ch.close();
      await listener.close();
      await qemu.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
