// Campaigns over every executed instruction: moments read off the golden run, checked fault for
// fault against the same fault injected alone on a fresh QEMU; IT blocks; the exit call itself.
import {
  accessed,
  atPc,
  type CampaignDefinition,
  executed,
  type FaultRecord,
  faultSpace,
  instruction,
  overwrite,
  registers,
  runCampaign,
  skip,
} from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { type LaunchedQemu, launch } from '../../packages/core/src/index.js';
import { exampleCampaign, expectNothingLeft } from '../support/campaigns.js';
import { firmware } from '../support/firmware.js';
import { afterThisTest } from '../support/scratch.js';

const PIN = firmware('mps2-an385', 'pin');
/** The right PIN (the firmware's default is wrong in its last digit), as two little-endian words. */
const RIGHT_PIN = [0x01010704, 0x05010800];
/** Writes of the right PIN at `pin_entered` (its address in the ELF). */
const rightPin = (pinEntered: number) => RIGHT_PIN.map((value, i) => ({ at: pinEntered + 4 * i, value }));
const STATUS = ['pin_status', 'pin_tries_left'];

function pinCampaign(overrides: Partial<CampaignDefinition> & Pick<CampaignDefinition, 'space'>) {
  return exampleCampaign({
    name: 'pin',
    kernel: PIN,
    observe: { memory: STATUS },
    detect: { exitCodes: [8] },
    crash: { exitCodes: [6], at: ['HardFault_Handler'] },
    ...overrides,
  });
}

async function boot(options: { rightPin?: boolean } = {}): Promise<LaunchedQemu> {
  const qemu = await launch({ machine: 'mps2-an385', kernel: PIN });
  afterThisTest(() => qemu.close());
  if (options.rightPin) for (const p of rightPin(qemu.symbol('pin_entered'))) await qemu.write(p.at, p.value, 4);
  return qemu;
}

/** ITSTATE in an xPSR value (bits 26:25 and 15:10), and written back: the hardware's layout, independent of the campaign's code. */
const itOf = (xpsr: number) => ((xpsr >>> 25) & 3) | (((xpsr >>> 10) & 0x3f) << 2);
const withIt = (xpsr: number, it: number) => ((xpsr & ~0x0600fc00) | ((it & 3) << 25) | ((it >>> 2) << 10)) >>> 0;

/** The IT instruction of verify_pin and the one instruction of its block, found in the code the golden run executes. */
async function itBlock(): Promise<{ it: number; inside: number }> {
  const qemu = await boot();
  const recording = await qemu.recordExecution({ in: 'verify_pin' });
  let found: { it: number; inside: number } | undefined;
  // At the exit call the recording is complete (it is, up to every freeze) and QEMU still there to read the code.
  await qemu.at('semihost_exit_insn', async () => {
    for (const { pc } of recording.instructions) {
      const halfword = (await qemu.readPhysical(pc, 2)) as number;
      // IT: 1011 1111 cond mask, mask not 0 (0xbf00 is a NOP).
      if (halfword >> 8 === 0xbf && (halfword & 0xf) !== 0) found ??= { it: pc, inside: pc + 2 };
    }
  });
  await qemu.run();
  if (!found) throw new Error('verify_pin has no IT block');
  return found;
}

interface Alone {
  outcome: string;
  exitCode?: number;
  memory?: Record<string, string>;
  serial: string;
}

/**
 * The reference: one skip injected alone on a fresh QEMU with `at()` and a pc write (and, inside an
 * IT block, the IT state advanced as hardware does), run to the exit or `cutNs`, judged as the
 * campaign judges.
 */
async function skipAlone(pc: number, hit: number, cutNs: number, golden: Alone): Promise<Alone> {
  const qemu = await boot();
  await qemu.at(
    pc,
    async ({ registers }) => {
      const halfword = (await qemu.readPhysical(pc, 2)) as number;
      const length = halfword >>> 11 >= 0b11101 ? 4 : 2;
      const xpsr = await registers.get('xpsr');
      const it = itOf(xpsr);
      if (it) await registers.set('xpsr', withIt(xpsr, (it & 7) === 0 ? 0 : (it & 0xe0) | ((it << 1) & 0x1f)));
      await registers.set('pc', pc + length);
    },
    { hit },
  );
  const handler = await qemu.at('HardFault_Handler', () => undefined);
  const memory: Record<string, string> = {};
  await qemu.at('semihost_exit_insn', async () => {
    for (const name of STATUS) memory[name] = (await qemu.readBytes(qemu.symbol(name), 4, { physical: true })).toString('hex');
  });
  const run = await qemu.run({ forNs: cutNs });
  const serial = qemu.serial.text;
  if (handler.fired || run.exitCode === 6) return { outcome: 'crash', serial };
  if (run.reason !== 'exit') return { outcome: 'hang', serial };
  const same = run.exitCode === golden.exitCode && JSON.stringify(memory) === JSON.stringify(golden.memory) && serial === golden.serial;
  const outcome = run.exitCode === 8 ? 'detected' : same ? 'masked' : 'silent';
  return { outcome, exitCode: run.exitCode, memory, serial };
}

describe('trace moments', () => {
  it('skip every dynamic instruction of verify_pin, each fault as the same skip injected alone on a fresh QEMU', {
    timeout: 300_000,
  }, async () => {
    const definition = pinCampaign({
      space: faultSpace({ targets: [instruction()], models: [skip()], moments: [executed({ in: 'verify_pin' })] }),
    });
    const result = await runCampaign(definition, { workers: 2 });
    const records = result.records;
    // More moments than the old 64-slot trigger table, one golden run for all of them.
    expect(records.length).toBeGreaterThan(64);
    expect(result.golden).toHaveLength(1);
    const golden = result.golden[0]!.evidence;
    expect(golden).toMatchObject({ end: 'exit', exitCode: 0 });

    // One moment per dynamic instruction, in execution order: every pc's hits count 1, 2, 3...
    const verify = { start: 0, end: 0 };
    {
      const qemu = await boot();
      verify.start = qemu.symbol('verify_pin');
      verify.end = verify.start + qemu.elf!.symbol('verify_pin').size;
    }
    const hits = new Map<number, number>();
    for (const r of records) {
      const m = r.fault.moment;
      if (m.kind !== 'pc') throw new Error(`not a pc moment: ${r.moment}`);
      expect(m.pc).toBeGreaterThanOrEqual(verify.start);
      expect(m.pc).toBeLessThan(verify.end);
      hits.set(m.pc, (hits.get(m.pc) ?? 0) + 1);
      expect(m.hit).toBe(hits.get(m.pc));
      expect(m.bytes).toMatch(/^([0-9a-f]{4}){1,2}$/);
      // The proof: the moment came, and the instruction skipped is the one the golden run executed there.
      expect(r.pc).toBe(m.pc);
      expect(r.injection).toMatchObject({ reached: true, effect: { kind: 'skip', skipped: [{ pc: m.pc, bytes: m.bytes }] } });
    }
    expect(Math.max(...hits.values())).toBe(8); // the compare loop: one pass per digit
    expect(new Set(records.map((r) => r.outcome)).size).toBeGreaterThanOrEqual(3);
    expect(result.counts().silent).toBeGreaterThan(0); // the plain pin falls to single skips

    const reference: Alone = { outcome: 'masked', exitCode: golden.exitCode!, memory: golden.memory!, serial: golden.serial! };
    const cutNs = result.golden[0]!.endNs + Math.max(1_000_000, result.golden[0]!.endNs);
    const compared = (r: FaultRecord) => ({
      id: r.id,
      outcome: r.outcome,
      ...(r.outcome === 'masked' || r.outcome === 'silent' ? { exitCode: r.evidence.exitCode, memory: r.evidence.memory } : {}),
      serial: r.outcome === 'crash' ? undefined : r.evidence.serial,
    });
    for (const r of records) {
      const m = r.fault.moment as { pc: number; hit: number };
      const alone = await skipAlone(m.pc, m.hit, cutNs, reference);
      // A crash ends the campaign's run at the handler; a hang is cut earlier there than here: compare their outcome only.
      const hangOrCrash = alone.outcome === 'crash' || alone.outcome === 'hang';
      expect(compared(r), r.id).toEqual({
        id: r.id,
        outcome: alone.outcome,
        ...(alone.outcome === 'masked' || alone.outcome === 'silent' ? { exitCode: alone.exitCode, memory: alone.memory } : {}),
        serial: alone.outcome === 'crash' ? undefined : hangOrCrash ? r.evidence.serial : alone.serial,
      });
    }
    await expectNothingLeft(definition);
  });

  it('accessed() gives a moment per access, with the pc that made it; register faults there', { timeout: 60_000 }, async () => {
    const definition = pinCampaign({
      space: faultSpace({ targets: registers('r3'), models: [overwrite(0)], moments: [accessed({ in: 'pin_tries_left' })] }),
    });
    const result = await runCampaign(definition, { workers: 1 });
    // The start-up code clears it (.bss), main sets it from pin_tries_init, verify_pin decrements it (the wrong PIN: no reset).
    expect(result.records.map((r) => r.moment)).toEqual(['write pin_tries_left#1', 'write pin_tries_left#2', 'write pin_tries_left#3']);
    const qemu = await boot();
    const inside = (pc: number, fn: string) => pc >= qemu.symbol(fn) && pc < qemu.symbol(fn) + qemu.elf!.symbol(fn).size;
    const [, init, decrement] = result.records.map((r) => (r.fault.moment as { pc: number }).pc);
    expect(inside(init!, 'main')).toBe(true);
    expect(inside(decrement!, 'verify_pin')).toBe(true);
    for (const r of result.records)
      expect(r.injection).toMatchObject({ reached: true, effect: { kind: 'register', register: 'r3', new: 0 } });
    await expectNothingLeft(definition);
  });
});

describe('Thumb IT blocks', () => {
  it('xpsr has its IT bits at a freeze inside an IT block, and a write of them is kept', async () => {
    const { inside } = await itBlock();
    const seen: number[] = [];
    // With the right PIN the digits are all equal: the conditional move never runs...
    const granted = await boot({ rightPin: true });
    await granted.at(inside, async ({ registers }) => void seen.push(itOf(await registers.get('xpsr'))), { hit: 1 });
    expect(await granted.run()).toMatchObject({ reason: 'exit', exitCode: 9 });
    expect(seen).toEqual([0x18]); // `it ne`: firstcond 0001, mask 1000
    // ...unless its IT state is cleared: then it runs unconditionally and the check fails.
    const cleared = await boot({ rightPin: true });
    await cleared.at(inside, async ({ registers }) => registers.set('xpsr', withIt(await registers.get('xpsr'), 0)), { hit: 1 });
    expect(await cleared.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
  });

  it('a skip inside an IT block advances the IT state; skipping the IT instruction leaves none', { timeout: 60_000 }, async () => {
    const { it, inside } = await itBlock();
    // The bare pc write leaves the IT state: the next instruction (the loop's compare) then runs
    // under the skipped one's condition, false here, and the loop ends after one digit: granted.
    const bare = await boot();
    await bare.at(inside, ({ registers }) => registers.set('pc', inside + 2), { hit: 1 });
    expect(await bare.run()).toMatchObject({ reason: 'exit', exitCode: 9 });

    const wrongPin = pinCampaign({ space: faultSpace({ targets: [instruction()], models: [skip()], moments: [atPc(inside, 1)] }) });
    const [insideSkip] = (await runCampaign(wrongPin, { workers: 1 })).records;
    expect(insideSkip).toMatchObject({ outcome: 'masked', injection: { effect: { kind: 'skip', itBefore: 0x18, itAfter: 0 } } });

    const withRightPin = pinCampaign({
      params: rightPin(bare.symbol('pin_entered')),
      space: faultSpace({ targets: [instruction()], models: [skip()], moments: [atPc(it, 1)] }),
    });
    const [itSkip] = (await runCampaign(withRightPin, { workers: 1 })).records;
    // No IT block: the move runs unconditionally, and the right PIN is refused.
    expect(itSkip).toMatchObject({ outcome: 'silent', evidence: { exitCode: 0 } });
    expect((itSkip!.injection!.effect as { itBefore?: number }).itBefore).toBeUndefined();
    await expectNothingLeft(wrongPin);
    await expectNothingLeft(withRightPin);
  });
});

describe('a moment on the exit call itself', () => {
  it('the fault applies first, then the run goes on: a skipped exit runs on, a changed argument changes the exit', {
    timeout: 60_000,
  }, async () => {
    const definition = pinCampaign({
      space: [
        faultSpace({ targets: [instruction()], models: [skip()], moments: [atPc('semihost_exit_insn')] })[0]!,
        // SYS_EXIT (0x18) instead of SYS_EXIT_EXTENDED: r1 is no ADP_Stopped_ApplicationExit, so the exit code is 1.
        faultSpace({ targets: registers('r0'), models: [overwrite(0x18)], moments: [atPc('semihost_exit_insn')] })[0]!,
      ],
    });
    const [skipped, changed] = (await runCampaign(definition, { workers: 1 })).records;
    expect(skipped).toMatchObject({
      outcome: 'hang',
      evidence: { end: 'budget' },
      injection: { reached: true, effect: { kind: 'skip', skipped: [{ bytes: 'abbe' }] } },
    });
    expect(changed).toMatchObject({ outcome: 'silent', evidence: { end: 'exit', exitCode: 1 }, injection: { effect: { new: 0x18 } } });
    await expectNothingLeft(definition);
  });
});
