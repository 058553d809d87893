import type { Architecture } from '../arch/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { Registers } from '../triggers/registers.js';

/** Most instructions one skip may pass over: a typo must not walk the PC through memory. */
const MAX_SKIP = 64;

/** What skipping needs: the CPU's registers and architecture, and its view of code. */
export interface SkipTarget {
  registers: Registers;
  architecture: Architecture;
  /** Reads `length` bytes of code at `address` as the CPU sees it. */
  readCode(address: bigint, length: number): Promise<Buffer>;
}

/**
 * Moves the PC past the next `count` instructions without executing them, by their real sizes
 * (Thumb 2 or 4 bytes, A32 and A64 4, RISC-V 2 for a compressed instruction, else 4). Resolves
 * with the new PC. The CPU must be frozen at an exact freeze, or paused.
 */
export async function skipInstructions(target: SkipTarget, count: number, cpu: number | undefined): Promise<bigint> {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SKIP) {
    throw new InvalidArgumentError(`skip count must be an integer from 1 to ${MAX_SKIP}, got ${String(count)}`);
  }
  const { registers, architecture } = target;
  const options = cpu === undefined ? {} : { cpu };
  let pc = BigInt(await registers.get('pc', options));
  const state = architecture.stateRegister ? await registers.get(architecture.stateRegister, options) : undefined;
  for (let i = 0; i < count; i++) pc += BigInt(architecture.instructionLength(await target.readCode(pc, 4), state));
  await registers.set('pc', architecture.wordBits === 32 ? Number(pc) : pc, options);
  return pc;
}
