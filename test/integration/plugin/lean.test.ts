/**
 * Lean blocks (packages/core/plugin/DESIGN.md): while nothing but a guest-time timer is armed, the
 * plugin's blocks run without its block-start check. Every freeze must still land exactly where
 * checked blocks (plugin argument `blocks=checked`) put it: timers that fire during a lean stretch,
 * triggers armed at such a freeze (the way back to checked blocks), and a trigger armed while the
 * guest runs lean.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ElfImage, readElf } from '../../../packages/core/src/elf/elf-file.js';
import type { PluginHit } from '../../../packages/core/src/plugin/plugin-channel.js';
import { firmware } from '../../support/firmware.js';
import { type PluginRun, runToEnd, startPluginRun } from '../../support/plugin-run.js';

let elf: ElfImage;
const sym = (name: string): bigint => BigInt(elf.symbol(name).address);

beforeAll(async () => {
  elf = await readElf(firmware());
});

const word = (n: number) => Buffer.from(new Uint8Array(Uint32Array.of(n).buffer));
const summary = (hit: PluginHit) => ({ tokens: hit.tokens, count: hit.count, pc: hit.pc, vtimeNs: hit.vtimeNs, watch: hit.watch });

/** Timers, then a pc, an instruction and a watch trigger armed at freezes, then a timer again. */
async function scenario(run: PluginRun) {
  const hits: PluginHit[] = [];
  const next = async () => {
    await run.ch.resume();
    const hit = await run.ch.nextHit(20_000);
    hits.push(hit);
    return hit;
  };
  await run.ch.writeMemory(0, sym('run_ticks'), word(200)); // long enough for two lean stretches
  await run.ch.armVtime('t1', 30_000_000);
  const t1 = await next();
  await run.ch.armVtime('t2', t1.vtimeNs! + 1_500_000n);
  await next();
  await run.ch.armPc('p', sym('sensor_read'));
  const p = await next();
  await run.ch.armInsn('n', p.count + 777n);
  await next();
  await run.ch.armWatch('w', 'w', sym('loop_counter'), 4);
  await next();
  await run.ch.disarm('w');
  await run.ch.armVtime('t3', (await run.ch.vtime()) + 30_000_000n);
  await next();
  const blocks = await run.ch.blocks();
  await run.ch.resume();
  hits.push(...(await runToEnd(run)));
  return { blocks, result: { hits: hits.map(summary), exit: await run.exited, serial: await run.serial() } };
}

describe('lean blocks', () => {
  it('freeze exactly where checked blocks do: timers, and pc/instruction/watch triggers armed at their freezes', async () => {
    const leanRun = await startPluginRun();
    const checkedRun = await startPluginRun({ blocks: 'checked' });
    const [lean, checked] = await Promise.all([scenario(leanRun), scenario(checkedRun)]);
    expect(lean.result.hits.map((h) => h.tokens.join())).toEqual(['t1', 't2', 'p', 'n', 'w', 't3']);
    expect(lean.result).toEqual(checked.result);
    expect(lean.result.exit).toBe(0);
    expect(lean.result.serial).toMatch(/result: 0x[0-9a-f]{8}/);
    // went lean before t1, back for the pc, lean again before t3; the checked run never
    expect(lean.blocks.mode).toBe('lean');
    expect(lean.blocks.entered).toBeGreaterThanOrEqual(2);
    expect(lean.blocks.left).toBeGreaterThanOrEqual(1);
    expect(checked.blocks).toEqual({ mode: 'checked', lean: false, entered: 0, left: 0 });
  });

  it('a pc armed while the guest runs lean fires at that pc', async () => {
    const run = await startPluginRun();
    await run.ch.writeMemory(0, sym('busy_iterations'), word(2_000_000_000));
    // a timer inside the busy loop tells one of its pcs
    await run.ch.armVtime('t', 1_000_000);
    await run.ch.resume();
    const inLoop = await run.ch.nextHit(20_000);
    await run.ch.resume();
    while (!(await run.ch.blocks()).lean) await sleep(5);
    expect((await run.ch.count()).frozen).toBe(false);
    await run.ch.armPc('p', inLoop.pc);
    const hit = await run.ch.nextHit(20_000);
    expect(hit.tokens).toEqual(['p']);
    expect(hit.pc).toBe(inLoop.pc);
    expect(hit.count).toBeGreaterThan(inLoop.count);
    expect((await run.ch.blocks()).left).toBeGreaterThanOrEqual(1);
  });
});
