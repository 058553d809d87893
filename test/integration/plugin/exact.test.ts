/**
 * The TCG plugin with QEMU's internals (Debian's builds export them): exact pc triggers, data
 * watchpoints with replay, register and memory writes that take effect, on the project's QEMU and
 * the example firmware. See packages/core/plugin/DESIGN.md.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type ElfImage, readElf } from '../../../packages/core/src/elf/elf-file.js';
import { firmware, GOLDEN_RESULT } from '../../support/firmware.js';
import { gdbRegisters, pluginRegisters, runToEnd, startPluginRun } from '../../support/plugin-run.js';

let elf: ElfImage;
const sym = (name: string): number => elf.symbol(name).address;
const big = (n: number): bigint => BigInt(n);

beforeAll(async () => {
  elf = await readElf(firmware());
});

describe('plugin with internals: exact pc triggers', () => {
  it('freezes at a mid-block pc with the registers gdb reports at a breakpoint there', async () => {
    const branch = sym('auth_check_branch');
    const run = await startPluginRun();
    expect(run.ch.hello).toMatchObject({ pcTriggers: 'split', registers: 'rw', setPc: true, watch: 'replay', clock: true, missing: [] });
    await run.ch.armPc('b', branch);
    await run.ch.resume();
    const hit = await run.ch.nextHit(10_000);
    expect(hit).toMatchObject({ pc: big(branch), exact: true, tokens: ['b'], cpu: 0 });
    const mine = await pluginRegisters(run);
    expect(mine[15]).toBe(branch);
    expect(mine[0]).toBe(1234); // auth_pin_entered
    expect(mine).toEqual(await gdbRegisters((g) => g.insertBreakpoint(branch)));
  });

  it('skips the 2-byte auth branch when pc is set to pc + 2 at the freeze', async () => {
    const run = await startPluginRun();
    await run.ch.armPc('b', sym('auth_check_branch'));
    await run.ch.resume();
    const hit = await run.ch.nextHit(10_000);
    await run.ch.setRegister(0, 15, hit.pc + 2n);
    expect((await pluginRegisters(run))[15]).toBe(Number(hit.pc) + 2);
    await run.ch.resume();
    expect(await runToEnd(run)).toEqual([]);
    expect(await run.exited).toBe(0);
    const out = await run.serial();
    expect(out).toContain('auth: GRANTED');
    expect(out).toContain(GOLDEN_RESULT);
  });

  it('a register written at a function entry is what the function sees', async () => {
    const run = await startPluginRun();
    await run.ch.armPc('e', sym('check_pin'));
    await run.ch.resume();
    const hit = await run.ch.nextHit(10_000);
    expect(hit.pc).toBe(big(sym('check_pin')));
    expect((await pluginRegisters(run))[0]).toBe(1234);
    await run.ch.setRegister(0, 0, 4711n); // pin_secret
    expect((await pluginRegisters(run))[0]).toBe(4711);
    await run.ch.resume();
    await runToEnd(run);
    expect(await run.exited).toBe(0);
    expect(await run.serial()).toContain('auth: GRANTED');
  });

  it('code patched at a freeze runs at once (nop over the branch it is frozen at)', async () => {
    const branch = sym('auth_check_branch');
    const run = await startPluginRun();
    await run.ch.armPc('b', branch);
    await run.ch.resume();
    await run.ch.nextHit(10_000);
    expect(await run.ch.readMemory(0, branch, 2)).toEqual(Buffer.from([0x01, 0xd1])); // bne.n
    await run.ch.writeMemory(0, branch, Buffer.from([0x00, 0xbf])); // nop
    await run.ch.resume();
    await runToEnd(run);
    expect(await run.serial()).toContain('auth: GRANTED');
  });

  it("skip lets executions pass: skip 4 freezes at the 5th, with that call's registers", async () => {
    const pc = sym('sensor_read');
    const all = await startPluginRun();
    await all.ch.armPc('k', pc, 0, { keep: true });
    await all.ch.resume();
    const seen: { count: bigint; r0: number }[] = [];
    const hits = await runToEnd(all, async (hit) => {
      expect(hit.exact).toBe(true);
      seen.push({ count: hit.count, r0: (await pluginRegisters(all))[0]! });
    });
    expect(hits.length).toBe(20); // once per tick, run_ticks = 20
    expect(await all.exited).toBe(0);
    expect(hits.every((h) => h.pc === big(pc))).toBe(true);

    const fifth = await startPluginRun();
    await fifth.ch.armPc('s', pc, 4);
    await fifth.ch.resume();
    const hit = await fifth.ch.nextHit(10_000);
    expect(hit.count).toBe(seen[4]!.count);
    expect((await pluginRegisters(fifth))[0]).toBe(seen[4]!.r0);
    await fifth.ch.resume();
    expect(await runToEnd(fifth)).toEqual([]); // one-shot
    expect(await fifth.serial()).toContain(GOLDEN_RESULT);
  });

  it('disarm stops a keep trigger', async () => {
    const run = await startPluginRun();
    await run.ch.armPc('k', sym('sensor_process'), 0, { keep: true });
    await run.ch.resume();
    const hits = await runToEnd(run, async (_hit, i) => {
      if (i === 2) expect(await run.ch.disarm('k')).toBe(1);
    });
    expect(hits.length).toBe(3);
    expect(await run.serial()).toContain(GOLDEN_RESULT);
  });

  it('has no fixed trigger table: 10,000 armed pcs, the one executed among them fires', async () => {
    const run = await startPluginRun();
    // 9,999 pcs in RAM that never executes, and check_pin
    for (let i = 0; i < 9_999; i++) await run.ch.armPc(`n${i}`, 0x2003_0000 + 2 * i);
    await run.ch.armPc('real', sym('check_pin'));
    await run.ch.resume();
    const hit = await run.ch.nextHit(20_000);
    expect(hit.tokens).toEqual(['real']);
    for (let i = 0; i < 9_999; i += 1111) expect(await run.ch.disarm(`n${i}`)).toBe(1);
    await run.ch.resume();
    expect(await runToEnd(run)).toEqual([]);
    expect(await run.serial()).toContain(GOLDEN_RESULT);
  });
});

describe('plugin with internals: watchpoints', () => {
  it('fires once per write to sensor_value, right after the store, with its pc and value', async () => {
    const addr = sym('sensor_value');
    const run = await startPluginRun();
    await run.ch.armWatch('s', 'w', addr, 4);
    await run.ch.resume();
    const read = [big(sym('sensor_read')), big(sym('sensor_read') + elf.symbol('sensor_read').size)] as const;
    const hits = await runToEnd(run, async (hit) => {
      expect(hit.exact).toBe(true);
      const regs = await pluginRegisters(run);
      expect(regs[15]).toBe(Number(hit.pc));
      if (hit.watch!.pc >= read[0] && hit.watch!.pc < read[1]) {
        expect((await run.ch.readMemory(0, addr, 4)).readUInt32LE(0)).toBe(Number(hit.watch!.value));
        expect(regs[0]).toBe(Number(hit.watch!.value)); // str r0, [r2, #8]
      }
    });
    // the .bss clear in Reset_Handler, then once per tick in sensor_read
    expect(hits.length).toBe(21);
    const ticks = hits.slice(1);
    for (const hit of ticks) {
      expect(hit.tokens).toEqual(['s']);
      expect(hit.watch).toMatchObject({ kind: 'write', address: big(addr), size: 4, io: false, late: false });
      expect(hit.watch!.pc >= read[0] && hit.watch!.pc < read[1]).toBe(true);
      expect(hit.pc).toBe(hit.watch!.pc + 2n); // right after the 16-bit store
      expect(Number(hit.watch!.value)).toBeGreaterThanOrEqual(120);
      expect(Number(hit.watch!.value)).toBeLessThanOrEqual(169);
    }
    expect(new Set(ticks.map((h) => h.watch!.pc)).size).toBe(1);
    expect(await run.exited).toBe(0);
    expect(await run.serial()).toContain(GOLDEN_RESULT); // re-executing the store changed nothing
  });

  it("registers at the first write equal gdb's one instruction after its write watchpoint stops", async () => {
    const addr = sym('sensor_value');
    const run = await startPluginRun();
    await run.ch.armWatch('s', 'w', addr, 4);
    await run.ch.resume();
    const hit = await run.ch.nextHit(10_000);
    const mine = await pluginRegisters(run);
    // ARM's gdbstub stops before the access; one step completes the store
    const gdb = await gdbRegisters(
      (g) => g.insertWatchpoint('write', addr, 4),
      async (g) => void (await g.step()),
    );
    expect(mine).toEqual(gdb);
    expect(mine[15]).toBe(Number(hit.pc));
  });

  it('a callback writing 1000 into sensor_value makes the firmware detect it (exit 5)', async () => {
    const addr = sym('sensor_value');
    const run = await startPluginRun();
    await run.ch.armWatch('s', 'w', addr, 4);
    await run.ch.resume();
    await runToEnd(run, async (hit, i) => {
      if (i === 3) await run.ch.writeMemory(0, addr, Buffer.from([0xe8, 0x03, 0, 0]));
      expect(hit.watch?.kind).toBe('write');
    });
    expect(await run.exited).toBe(5);
    expect(await run.serial()).toContain('FAULT: sensor out of range');
  });

  it('disarm stops it; read watchpoints see the reads, not the writes', async () => {
    const addr = sym('sensor_value');
    const run = await startPluginRun();
    await run.ch.armWatch('r', 'r', addr, 4);
    await run.ch.resume();
    const proc = [big(sym('sensor_process')), big(sym('sensor_process') + elf.symbol('sensor_process').size)] as const;
    const hits = await runToEnd(run, async (hit, i) => {
      expect(hit.watch).toMatchObject({ kind: 'read', address: big(addr), size: 4 });
      expect(hit.watch!.pc >= proc[0] && hit.watch!.pc < proc[1]).toBe(true);
      if (i === 4) expect(await run.ch.disarm('r')).toBe(1);
    });
    expect(hits.length).toBe(5);
    expect(await run.serial()).toContain(GOLDEN_RESULT);
  });

  it('thousands of freezes (every RAM access) leave the run unchanged', async () => {
    const quiet = await startPluginRun();
    let quietCount = -1n;
    quiet.ch.on('exit', (c) => (quietCount = c));
    await quiet.ch.resume();
    await runToEnd(quiet);

    const run = await startPluginRun();
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
