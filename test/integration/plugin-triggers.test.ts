/**
 * The TCG plugin's exact pc triggers, data watchpoints, memory access, limits and robustness, on
 * real QEMU (Debian 12's 7.2) and the example firmware. See packages/core/plugin/DESIGN.md.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ElfImage, readElf } from '../../packages/core/src/elf/elf-file.js';
import { ChannelUnavailableError, InvalidArgumentError } from '../../packages/core/src/errors.js';
import { GdbClient } from '../../packages/core/src/gdb/gdb-client.js';
import { type BuiltPlugin, buildPlugin } from '../../packages/core/src/plugin/build-plugin.js';
import { type PluginChannel, type PluginHit, PluginListener } from '../../packages/core/src/plugin/plugin-channel.js';
import { firmware, GOLDEN_RESULT } from '../support/firmware.js';

let plugin: BuiltPlugin;
let elf: ElfImage;
const sym = (name: string): number => elf.symbol(name).address;

beforeAll(async () => {
  plugin = await buildPlugin();
  elf = await readElf(firmware());
}, 60_000);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Run {
  ch: PluginChannel;
  /** Exit status once QEMU has exited. */
  exited: Promise<number | null>;
  serial(): Promise<string>;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-plugin-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** QEMU on faultdemo with the plugin (frozen before instruction 0), serial to a file, -icount shift=0,sleep=off. */
async function startRun(pluginArgs: Record<string, string> = {}): Promise<Run> {
  const dir = await tempDir();
  const listener = await PluginListener.create(join(dir, 'p.sock'));
  cleanups.push(() => listener.close());
  const serialPath = join(dir, 'serial.txt');
  const qemu = spawn(
    'qemu-system-arm',
    [
      '-M',
      'mps2-an385',
      '-display',
      'none',
      '-monitor',
      'none',
      '-nodefaults',
      '-serial',
      `file:${serialPath}`,
      '-kernel',
      firmware(),
      '-semihosting-config',
      'enable=on,target=native',
      '-icount',
      'shift=0,sleep=off',
      '-plugin',
      listener.qemuArg(plugin.path, pluginArgs),
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const exited = new Promise<number | null>((resolve) => qemu.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
    await exited;
  });
  const ch = await listener.accept({ abort: exited });
  cleanups.push(async () => ch.close());
  const start = await ch.nextHit(5000);
  expect(start.tokens).toEqual(['start']);
  return { ch, exited, serial: () => readFile(serialPath, 'utf8') };
}

/** Resumes after every freeze until QEMU exits; returns the hits (the callback runs at each). */
async function runToEnd(run: Run, onHit: (hit: PluginHit, i: number) => Promise<void> = async () => {}): Promise<PluginHit[]> {
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

/** r0..r15 and xPSR from gdb, stopped at the first hit of a breakpoint at `pc` (its own QEMU, no plugin). */
async function gdbRegisters(setup: (gdb: GdbClient) => Promise<void>, afterStop?: (gdb: GdbClient) => Promise<void>): Promise<number[]> {
  const dir = await tempDir();
  const gdbPath = join(dir, 'gdb.sock');
  const qemu = spawn(
    'qemu-system-arm',
    [
      '-M',
      'mps2-an385',
      '-display',
      'none',
      '-monitor',
      'none',
      '-nodefaults',
      '-kernel',
      firmware(),
      '-semihosting-config',
      'enable=on,target=native',
      '-icount',
      'shift=0,sleep=off',
      '-S',
      '-gdb',
      `unix:${gdbPath},server=on,wait=off`,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const exited = new Promise<void>((resolve) => qemu.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
    await exited;
  });
  let gdb: GdbClient | undefined;
  for (let i = 0; i < 200 && !gdb; i++) {
    gdb = await GdbClient.connect(gdbPath).catch(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return undefined;
    });
  }
  if (!gdb) throw new Error('gdbstub not reachable');
  cleanups.push(() => gdb.close());
  await setup(gdb);
  await gdb.continue();
  await afterStop?.(gdb);
  const regs = await gdb.readRegisters();
  const names = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'r12', 'sp', 'lr', 'pc', 'xpsr'];
  return names.map((n) => Number(regs[n]));
}

const asArray = (r: { r: number[]; xpsr: number }): number[] => [...r.r, r.xpsr];

describe('plugin: exact pc triggers', () => {
  it('freezes at a mid-block pc with the registers gdb reports at a breakpoint there', async () => {
    const branch = sym('auth_check_branch');
    const run = await startRun();
    expect(run.ch.hello.pcTriggers).toBe('split');
    await run.ch.armPc('b', branch);
    await run.ch.resume();
    const hit = await run.ch.nextHit(10_000);
    expect(hit).toMatchObject({ pc: branch, exact: true, tokens: ['b'] });
    const mine = asArray(await run.ch.registers());
    expect(mine[15]).toBe(branch);
    expect(mine[0]).toBe(1234); // auth_pin_entered
    const gdb = await gdbRegisters((g) => g.insertBreakpoint(branch));
    expect(mine).toEqual(gdb);
  });

  it('skips the 2-byte auth branch when pc is set to pc + 2 at the freeze', async () => {
    const run = await startRun();
    await run.ch.armPc('b', sym('auth_check_branch'));
    await run.ch.resume();
    const hit = await run.ch.nextHit(10_000);
    await run.ch.setRegister(15, hit.pc + 2);
    expect((await run.ch.registers()).r[15]).toBe(hit.pc + 2);
    await run.ch.resume();
    expect(await runToEnd(run)).toEqual([]);
    expect(await run.exited).toBe(0);
    const out = await run.serial();
    expect(out).toContain('auth: GRANTED');
    expect(out).toContain(GOLDEN_RESULT);
  });

  it('a register written at a function entry is what the function sees', async () => {
    const run = await startRun();
    await run.ch.armPc('e', sym('check_pin'));
    await run.ch.resume();
    const hit = await run.ch.nextHit(10_000);
    expect(hit.pc).toBe(sym('check_pin'));
    expect((await run.ch.registers()).r[0]).toBe(1234);
    await run.ch.setRegister(0, 4711); // pin_secret
    expect((await run.ch.registers()).r[0]).toBe(4711);
    await run.ch.resume();
    await runToEnd(run);
    expect(await run.exited).toBe(0);
    expect(await run.serial()).toContain('auth: GRANTED');
  });

  it('code patched at a freeze runs at once (nop over the branch it is frozen at)', async () => {
    const branch = sym('auth_check_branch');
    const run = await startRun();
    await run.ch.armPc('b', branch);
    await run.ch.resume();
    await run.ch.nextHit(10_000);
    expect(await run.ch.readMemory(branch, 2)).toEqual(Buffer.from([0x01, 0xd1])); // bne.n
    await run.ch.writeMemory(branch, Buffer.from([0x00, 0xbf])); // nop
    await run.ch.resume();
    await runToEnd(run);
    expect(await run.serial()).toContain('auth: GRANTED');
  });

  it("skip lets executions pass: skip 4 freezes at the 5th, with that call's registers", async () => {
    const pc = sym('sensor_read');
    // every execution, with keep
    const all = await startRun();
    await all.ch.armPc('k', pc, 0, { keep: true });
    await all.ch.resume();
    const seen: { count: bigint; r0: number }[] = [];
    const hits = await runToEnd(all, async (hit) => {
      expect(hit.exact).toBe(true);
      seen.push({ count: hit.count, r0: (await all.ch.registers()).r[0]! });
    });
    expect(hits.length).toBe(20); // once per 1 ms tick, run_ticks = 20
    expect(await all.exited).toBe(0);
    expect(hits.every((h) => h.pc === pc)).toBe(true);

    const fifth = await startRun();
    await fifth.ch.armPc('s', pc, 4);
    await fifth.ch.resume();
    const hit = await fifth.ch.nextHit(10_000);
    expect(hit.count).toBe(seen[4]!.count);
    expect((await fifth.ch.registers()).r[0]).toBe(seen[4]!.r0);
    await fifth.ch.resume();
    expect(await runToEnd(fifth)).toEqual([]); // one-shot
    expect(await fifth.serial()).toContain(GOLDEN_RESULT);
  });

  it('disarm stops a keep trigger', async () => {
    const run = await startRun();
    await run.ch.armPc('k', sym('sensor_process'), 0, { keep: true });
    await run.ch.resume();
    const hits = await runToEnd(run, async (_hit, i) => {
      if (i === 2) expect(await run.ch.disarm('k')).toBe(1);
    });
    expect(hits.length).toBe(3);
    expect(await run.serial()).toContain(GOLDEN_RESULT);
  });
});

describe('plugin: watchpoints', () => {
  it('fires once per write to sensor_value, right after the store, with its pc and value', async () => {
    const addr = sym('sensor_value');
    const run = await startRun();
    expect(run.ch.hello.watch).toBe('replay');
    await run.ch.armWatch('s', 'w', addr, 4);
    await run.ch.resume();
    const readRange = [sym('sensor_read'), sym('sensor_read') + elf.symbol('sensor_read').size];
    const hits = await runToEnd(run, async (hit) => {
      expect(hit.exact).toBe(true);
      const regs = await run.ch.registers();
      expect(regs.r[15]).toBe(hit.pc);
      if (hit.watch!.pc >= readRange[0]! && hit.watch!.pc < readRange[1]!) {
        expect(await run.ch.readWord(addr)).toBe(hit.watch!.value);
        expect(regs.r[0]).toBe(hit.watch!.value); // str r0, [r2, #8]
      }
    });
    // the .bss clear in Reset_Handler, then once per tick in sensor_read
    expect(hits.length).toBe(21);
    const ticks = hits.slice(1);
    for (const hit of ticks) {
      expect(hit.tokens).toEqual(['s']);
      expect(hit.watch).toMatchObject({ kind: 'write', address: addr, size: 4, io: false, late: false });
      expect(hit.watch!.pc).toBeGreaterThanOrEqual(readRange[0]!);
      expect(hit.watch!.pc).toBeLessThan(readRange[1]!);
      expect(hit.pc).toBe(hit.watch!.pc + 2); // right after the 16-bit store
      expect(hit.watch!.value).toBeGreaterThanOrEqual(120);
      expect(hit.watch!.value).toBeLessThanOrEqual(169);
    }
    expect(new Set(ticks.map((h) => h.watch!.pc)).size).toBe(1);
    expect(await run.exited).toBe(0);
    expect(await run.serial()).toContain(GOLDEN_RESULT); // re-executing the store changed nothing
  });

  it("registers at the first write equal gdb's one instruction after its write watchpoint stops", async () => {
    const addr = sym('sensor_value');
    const run = await startRun();
    await run.ch.armWatch('s', 'w', addr, 4);
    await run.ch.resume();
    const hit = await run.ch.nextHit(10_000);
    const mine = asArray(await run.ch.registers());
    // ARM's gdbstub stops before the access; one step completes the store
    const gdb = await gdbRegisters(
      (g) => g.insertWatchpoint('write', addr, 4),
      async (g) => void (await g.step()),
    );
    expect(mine).toEqual(gdb);
    expect(mine[15]).toBe(hit.pc);
  });

  it('a callback writing 1000 into sensor_value makes the firmware detect it (exit 5)', async () => {
    const addr = sym('sensor_value');
    const run = await startRun();
    await run.ch.armWatch('s', 'w', addr, 4);
    await run.ch.resume();
    await runToEnd(run, async (hit, i) => {
      if (i === 3) await run.ch.writeWord(addr, 1000);
      expect(hit.watch?.kind).toBe('write');
    });
    expect(await run.exited).toBe(5);
    expect(await run.serial()).toContain('FAULT: sensor out of range');
  });

  it('disarm stops it; read watchpoints see the reads, not the writes', async () => {
    const addr = sym('sensor_value');
    const run = await startRun();
    await run.ch.armWatch('r', 'r', addr, 4);
    await run.ch.resume();
    const procRange = [sym('sensor_process'), sym('sensor_process') + elf.symbol('sensor_process').size];
    const hits = await runToEnd(run, async (hit, i) => {
      expect(hit.watch).toMatchObject({ kind: 'read', address: addr, size: 4 });
      expect(hit.watch!.pc).toBeGreaterThanOrEqual(procRange[0]!);
      expect(hit.watch!.pc).toBeLessThan(procRange[1]!);
      if (i === 4) expect(await run.ch.disarm('r')).toBe(1);
    });
    expect(hits.length).toBe(5);
    expect(await run.serial()).toContain(GOLDEN_RESULT);
  });

  it('thousands of freezes (every RAM access) leave the run unchanged', async () => {
    const quiet = await startRun();
    let quietCount = -1n;
    quiet.ch.on('exit', (c) => (quietCount = c));
    await quiet.ch.resume();
    await runToEnd(quiet);

    const run = await startRun();
    let count = -1n;
    run.ch.on('exit', (c) => (count = c));
    await run.ch.armWatch('all', 'rw', 0x2000_0000, 0x40_0000);
    await run.ch.resume();
    const hits = await runToEnd(run);
    expect(hits.length).toBeGreaterThan(1000);
    expect(hits.every((h) => h.exact && h.watch && !h.watch.late)).toBe(true);
    expect(count).toBe(quietCount);
    expect(await run.serial()).toBe(await quiet.serial());
  });
});

describe('plugin: limits and errors', () => {
  it(`refuses a 65th trigger with "trigger limit (64) reached"`, async () => {
    const run = await startRun();
    for (let i = 0; i < 64; i++) await run.ch.armPc(`t${i}`, 0x10000 + 2 * i);
    await expect(run.ch.armPc('x', 0x20000)).rejects.toThrow(/trigger limit \(64\) reached/);
    await expect(run.ch.armWatch('x', 'w', 0x2000_0000, 4)).rejects.toThrow(InvalidArgumentError);
    await expect(run.ch.armInsn('x', 1_000_000)).rejects.toThrow(/trigger limit \(64\) reached/);
    expect(await run.ch.disarm('t0')).toBe(1);
    await run.ch.armWatch('x', 'w', 0x2000_0000, 4);
  });

  it('rejects bad addresses, lengths and kinds, in Node and in the plugin', async () => {
    const run = await startRun();
    const raw = (line: string): Promise<string> => (run.ch as unknown as { command(t: string): Promise<string> }).command(line);
    await expect(run.ch.armPc('p', 0x1_0000_0000)).rejects.toThrow(InvalidArgumentError);
    await expect(run.ch.armPc('p', 0x631)).rejects.toThrow(/odd/);
    await expect(run.ch.armWatch('w', 'w', 0xffff_fffe, 4)).rejects.toThrow(InvalidArgumentError);
    await expect(run.ch.armWatch('w', 'w', 0x2000_0000, 0)).rejects.toThrow(InvalidArgumentError);
    await expect(raw('arm-pc p 0x100000000')).rejects.toThrow(/bad address/);
    await expect(raw('arm-pc p 0x631')).rejects.toThrow(/odd/);
    await expect(raw('arm-pc p 12abc')).rejects.toThrow(/bad number/);
    await expect(raw('arm-pc p 0x100 -1')).rejects.toThrow(/bad number/);
    await expect(raw('arm-watch w x 0x20000000 4')).rejects.toThrow(/bad access kind/);
    await expect(raw('arm-watch w w 0xfffffffe 4')).rejects.toThrow(/bad length/);
    await expect(raw('arm-watch w w 0x20000000 0')).rejects.toThrow(/bad length/);
    await expect(raw('arm-watch w w 0x200000000 4')).rejects.toThrow(/bad address/);
    await expect(raw('read 0x20000000 0')).rejects.toThrow(/bad length/);
    await expect(raw('write 0x20000000 abc')).rejects.toThrow(/bad hex/);
    await expect(raw('setreg 99 1')).rejects.toThrow(/register number/);
  });

  it('survives malformed command lines', async () => {
    const run = await startRun();
    const raw = (line: string): Promise<string> => (run.ch as unknown as { command(t: string): Promise<string> }).command(line);
    const socket = (run.ch as unknown as { socket: import('node:net').Socket }).socket;
    for (const line of [
      '',
      '   ',
      'garbage',
      '12345678901234567890 ping',
      '\x00\x01\x02',
      `900002 ${'x'.repeat(10_000)}`,
      '900001 arm-pc\x00 t 0x100',
      '\r',
      'ok ok ok',
    ])
      socket.write(`${line}\n`);
    for (const line of [
      'arm-pc',
      'arm-pc t',
      'arm-pc t 0x100 1 2 3 4 5 6 7',
      'arm-watch',
      'arm-watch t',
      'arm-insn t 1 2 3',
      'setreg',
      'setreg 1',
      'read',
      'write 0',
      'disarm',
      'arm-vtime t',
      'arm-vtime t -5',
      'arm-pc bad/token 0x100',
      'nosuchverb a b',
      `arm-pc ${'t'.repeat(60)} 0x100`,
    ])
      await expect(raw(line)).rejects.toThrow();
    await run.ch.ping();
    await run.ch.resume();
    await runToEnd(run);
    expect(await run.exited).toBe(0);
    expect(await run.serial()).toContain(GOLDEN_RESULT);
  });

  it('says which verbs need the QEMU internals when they are absent', async () => {
    const run = await startRun({ internals: 'none' });
    expect(run.ch.hello).toMatchObject({
      precise: 'flush',
      clock: false,
      regs: false,
      pcTriggers: 'pc-only',
      watch: 'none',
      memory: false,
    });
    await expect(run.ch.armWatch('w', 'w', sym('sensor_value'), 4)).rejects.toThrow(ChannelUnavailableError);
    await expect(run.ch.armVtime('v', 1_000_000)).rejects.toThrow(ChannelUnavailableError);
    await expect(run.ch.readMemory(0x2000_0000, 4)).rejects.toThrow(ChannelUnavailableError);
    await expect(run.ch.registers()).rejects.toThrow(ChannelUnavailableError);
    // pc triggers still work, without exact registers
    await run.ch.armPc('p', sym('auth_check_branch'));
    await run.ch.resume();
    const hit = await run.ch.nextHit(10_000);
    expect(hit).toMatchObject({ pc: sym('auth_check_branch'), exact: false });
    await run.ch.resume();
    await runToEnd(run);
    expect(await run.exited).toBe(0);
  });
});
