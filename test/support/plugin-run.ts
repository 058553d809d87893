/**
 * Our TCG plugin on a real QEMU, without the framework: the example firmware on mps2-an385 under
 * `-icount shift=0,sleep=off`, frozen before instruction 0, serial output to a file. For the
 * plugin's own tests (test/integration/plugin/).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GdbClient } from '../../packages/core/src/gdb/gdb-client.js';
import { type BuiltPlugin, buildPlugin } from '../../packages/core/src/plugin/build-plugin.js';
import { PluginListener } from '../../packages/core/src/plugin/listener.js';
import type { PluginChannel, PluginHit } from '../../packages/core/src/plugin/plugin-channel.js';
import { firmware } from './firmware.js';
import { qemuBinary } from './qemus.js';
import { afterThisTest, scratchDir } from './scratch.js';

export interface PluginRun {
  ch: PluginChannel;
  /** Exit status once QEMU has exited. */
  exited: Promise<number | null>;
  serial(): Promise<string>;
}

let built: Promise<BuiltPlugin> | undefined;
/** The plugin for the project's QEMU, built once per test file. */
export function plugin(): Promise<BuiltPlugin> {
  built ??= buildPlugin({ qemuBinary: qemuBinary() });
  return built;
}

const BASE_ARGS = [
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

/** Starts QEMU with the plugin and takes its `start` freeze; everything is stopped after the test. */
export async function startPluginRun(pluginArgs: Record<string, string> = {}): Promise<PluginRun> {
  const dir = await scratchDir('qf-plugin-');
  const listener = await PluginListener.create(join(dir, 'p.sock'));
  afterThisTest(() => listener.close());
  const serialPath = join(dir, 'serial.txt');
  const qemu = spawn(
    qemuBinary(),
    [
      '-M',
      'mps2-an385',
      '-kernel',
      firmware(),
      '-serial',
      `file:${serialPath}`,
      ...BASE_ARGS,
      '-plugin',
      listener.qemuArg((await plugin()).path, pluginArgs),
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const exited = new Promise<number | null>((resolve) => qemu.once('exit', (code) => resolve(code)));
  afterThisTest(async () => {
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
    await exited;
  });
  const ch = await listener.accept({ abort: exited, timeoutMs: 20_000 });
  afterThisTest(async () => ch.close());
  const start = await ch.nextHit(5000);
  if (start.tokens.join() !== 'start') throw new Error(`first freeze was ${start.tokens.join()}, not start`);
  return { ch, exited, serial: () => readFile(serialPath, 'utf8') };
}

/** Resumes after every freeze until QEMU exits; returns the hits (`onHit` runs at each). */
export async function runToEnd(run: PluginRun, onHit: (hit: PluginHit, i: number) => Promise<void> = async () => {}): Promise<PluginHit[]> {
  const hits: PluginHit[] = [];
  const done = run.exited.then(() => undefined);
  for (;;) {
    const next = await Promise.race([run.ch.nextHit().catch(() => undefined), done]);
    if (!next) break;
    hits.push(next);
    await onHit(next, hits.length - 1);
    await run.ch.resume().catch(() => undefined);
  }
  return hits;
}

/** ARM M-profile core registers as the plugin numbers them (gdb numbering), r0..r15 then xPSR. */
export const ARM_CORE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 25] as const;
const GDB_NAMES = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'r12', 'sp', 'lr', 'pc', 'xpsr'];

/** The plugin's r0..r15 and xPSR at the current freeze. */
export async function pluginRegisters(run: PluginRun): Promise<number[]> {
  const regs = await run.ch.registers(0);
  return ARM_CORE.map((n) => Number(regs.get(n)));
}

/** r0..r15 and xPSR from gdb on a QEMU of the same version without the plugin, after `setup`, a continue, and `afterStop`. */
export async function gdbRegisters(
  setup: (gdb: GdbClient) => Promise<void>,
  afterStop?: (gdb: GdbClient) => Promise<void>,
): Promise<number[]> {
  const dir = await scratchDir('qf-gdb-');
  const gdbPath = join(dir, 'gdb.sock');
  const qemu = spawn(
    qemuBinary(),
    ['-M', 'mps2-an385', '-kernel', firmware(), ...BASE_ARGS, '-S', '-gdb', `unix:${gdbPath},server=on,wait=off`],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  const exited = new Promise<void>((resolve) => qemu.once('exit', () => resolve()));
  afterThisTest(async () => {
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
    await exited;
  });
  let gdb: GdbClient | undefined;
  for (let i = 0; i < 250 && !gdb; i++) {
    gdb = await GdbClient.connect(gdbPath).catch(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return undefined;
    });
  }
  if (!gdb) throw new Error('gdbstub not reachable');
  const client = gdb;
  afterThisTest(() => client.close());
  await setup(client);
  await client.continue();
  await afterStop?.(client);
  const regs = await client.readRegisters();
  return GDB_NAMES.map((n) => Number(regs[n]));
}
