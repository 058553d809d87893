/**
 * A campaign's instruction skip, with the proof of what it skipped. On M profile (Thumb) it is done
 * here, faithful to the IT state — advanced as hardware (or a NOP patched in) would; elsewhere
 * the framework's skip (instruction lengths per architecture) does it. Another architecture with
 * state a skip must update besides the pc plugs in here.
 */
import type { FaultInjectionFramework } from '../framework/framework.js';
import type { TriggerContext } from '../triggers/types.js';

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

/** An instruction's bytes at `pc` (hex in memory order), its length by the CPU's architecture, read from the system address space. */
export async function instructionAt(qemu: FaultInjectionFramework, pc: number): Promise<SkippedInstruction> {
  const head = await qemu.readBytes(pc, 4, PHYSICAL);
  const length = (await qemu.architecture()).instructionLength(head, undefined);
  return { pc, bytes: head.subarray(0, length).toString('hex') };
}

/** Whether Thumb instruction bytes (hex, memory order) are an `IT` (0xbfXY, mask Y not 0; 0xbf00 is a NOP). */
const isIt = (bytes: string) => bytes.length === 4 && bytes.slice(2, 4) === 'bf' && bytes[1] !== '0';

/**
 * Whether the `i`-th instruction of an executed sequence is outside any IT block, as the sequence
 * shows: the four executed before it ran straight into it (consecutive in execution, each right
 * after the other in memory: no branch, no exception between) and none is an `IT`. Else unknown.
 */
export function outsideItBlock(sequence: ReadonlyArray<{ pc: number; bytes: string; position: number }>, i: number): boolean {
  for (let k = 1; k <= 4; k++) {
    const prev = sequence[i - k];
    const next = sequence[i - k + 1]!;
    if (!prev || prev.position !== next.position - 1 || prev.pc + prev.bytes.length / 2 !== next.pc || isIt(prev.bytes)) return false;
  }
  return true;
}

/** What the golden run already showed about the instruction at the moment. */
export interface KnownInstruction {
  /** Its bytes (hex, memory order). */
  bytes?: string | undefined;
  /** No IT block covers it (see {@link outsideItBlock}): the skip need not read the IT state. */
  outsideIt?: boolean | undefined;
}

/**
 * Skips `count` instructions at the freeze `ctx`: the pc moves past them and, on M profile inside
 * an IT block, the IT state advances once per skipped instruction (skipping an `IT` instruction
 * itself leaves no IT block: what follows runs unconditionally, as under a NOP). Elsewhere the
 * framework's skip does it.
 */
export async function skipInstructions(
  qemu: FaultInjectionFramework,
  ctx: TriggerContext,
  count: number,
  known: KnownInstruction = {},
): Promise<SkipEffect> {
  if ((await qemu.architecture()).id !== 'arm-m') {
    const pcAfter = Number(await qemu.skip(count));
    const bytes = await qemu.readBytes(ctx.pc, pcAfter - ctx.pc, PHYSICAL);
    return { kind: 'skip', skipped: [{ pc: ctx.pc, bytes: bytes.toString('hex') }], pcAfter };
  }
  const skipped: SkippedInstruction[] = [];
  let pc = ctx.pc;
  for (let i = 0; i < count; i++) {
    const insn = i === 0 && known.bytes ? { pc, bytes: known.bytes } : await instructionAt(qemu, pc);
    skipped.push(insn);
    pc += insn.bytes.length / 2;
  }
  const effect: SkipEffect = { kind: 'skip', skipped, pcAfter: pc };
  const xpsr = known.outsideIt ? 0 : await ctx.registers.get('xpsr');
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
