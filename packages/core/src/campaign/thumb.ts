/**
 * The campaign's Thumb (Cortex-M) specifics in one place: how long an instruction is, and how an
 * instruction skip leaves the IT state — as hardware (or a NOP patched in) would. Another
 * architecture plugs in here: its instruction length and what a skip must update besides the pc.
 */
import type { FaultInjectionFramework } from '../framework/framework.js';
import type { TriggerContext } from '../triggers/types.js';
import { thumbInstructionLength } from './elf-code.js';

/** One skipped instruction: where, and its bytes (hex, in memory order). */
export interface SkippedInstruction {
  pc: number;
  bytes: string;
}

/** What a skip changed: the instructions passed over, the pc after, and the IT state before and after (Thumb). */
export interface SkipEffect {
  kind: 'skip';
  skipped: SkippedInstruction[];
  pcAfter: number;
  /** ITSTATE (8 bits) at the moment, where inside an IT block. */
  itBefore?: number;
  /** ITSTATE once the skipped instructions are passed, as a NOP in their place would leave it. */
  itAfter?: number;
}

const PHYSICAL = { physical: true } as const;

/** xPSR's IT/ICI fields: ITSTATE[1:0] at bits 26:25, ITSTATE[7:2] at bits 15:10. */
const IT_LOW_SHIFT = 25;
const IT_HIGH_SHIFT = 10;
const IT_MASK = (0b11 << IT_LOW_SHIFT) | (0b111111 << IT_HIGH_SHIFT);

/** ITSTATE (8 bits) held in an xPSR value. */
export function itState(xpsr: number): number {
  return ((xpsr >>> IT_LOW_SHIFT) & 0b11) | (((xpsr >>> IT_HIGH_SHIFT) & 0b111111) << 2);
}

/** `xpsr` with its IT bits set to `it`. */
export function withItState(xpsr: number, it: number): number {
  return ((xpsr & ~IT_MASK) | ((it & 0b11) << IT_LOW_SHIFT) | (((it >>> 2) & 0b111111) << IT_HIGH_SHIFT)) >>> 0;
}

/**
 * ITSTATE after one instruction of an IT block has executed (ARMv7-M `ITAdvance()`): the mask
 * shifts left; once its last instruction is done the state is 0 (outside any IT block).
 */
export function advanceIt(it: number): number {
  if ((it & 0b111) === 0) return 0;
  return (it & 0b11100000) | ((it << 1) & 0b11111);
}

/** An instruction's bytes at `pc` (2 or 4, hex in memory order), read from the system address space. */
export async function instructionAt(qemu: FaultInjectionFramework, pc: number): Promise<SkippedInstruction> {
  const head = await qemu.readBytes(pc, 2, PHYSICAL);
  const length = thumbInstructionLength(head[0]! | (head[1]! << 8));
  const bytes = length === 2 ? head : Buffer.concat([head, await qemu.readBytes(pc + 2, 2, PHYSICAL)]);
  return { pc, bytes: bytes.toString('hex') };
}

/**
 * Skips `count` instructions at the freeze `ctx`: the pc moves past them and, inside an IT block,
 * the IT state advances once per skipped instruction (skipping an `IT` instruction itself leaves no
 * IT block: what follows runs unconditionally, as under a NOP).
 */
export async function skipInstructions(qemu: FaultInjectionFramework, ctx: TriggerContext, count: number): Promise<SkipEffect> {
  const skipped: SkippedInstruction[] = [];
  let pc = ctx.pc;
  for (let i = 0; i < count; i++) {
    const insn = await instructionAt(qemu, pc);
    skipped.push(insn);
    pc += insn.bytes.length / 2;
  }
  const effect: SkipEffect = { kind: 'skip', skipped, pcAfter: pc };
  const xpsr = await ctx.registers.get('xpsr');
  const before = itState(xpsr);
  if (before !== 0) {
    let after = before;
    for (let i = 0; i < count; i++) after = advanceIt(after);
    effect.itBefore = before;
    effect.itAfter = after;
    await ctx.registers.set('xpsr', withItState(xpsr, after));
  }
  await ctx.registers.set('pc', pc);
  return effect;
}
