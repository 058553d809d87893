import type { Registers } from './registers.js';

/** What kind of trigger froze the guest. */
export type TriggerKind = 'time' | 'pc' | 'watch';

/** The guest access that fired a data trigger. */
export interface AccessInfo {
  kind: 'read' | 'write';
  address: number;
  size: number;
  /** PC of the instruction that made the access. */
  pc: number;
}

/**
 * Passed to every trigger callback. The guest is frozen for as long as the callback runs
 * (including any promise it returns): read, write, drive GPIOs, set registers, arm more triggers.
 */
export interface TriggerContext {
  kind: TriggerKind;
  /** Guest time (QEMU's virtual clock) in nanoseconds at the freeze; -1 where that clock cannot be read (a QEMU without its internals). */
  timeNs: number;
  /** Instructions started since QEMU started, at the freeze (-1n where the time source cannot count them: a patched QEMU's `time-notify`). */
  instructions: bigint;
  /** The PC of the next instruction to execute. */
  pc: number;
  /** The CPU that froze (its index, as `query-cpus-fast` numbers them). */
  cpu: number;
  /** The registers at the freeze: the frozen CPU's, any other's with `{ cpu }`. */
  registers: Registers;
  /** For data triggers: the access. */
  access?: AccessInfo;
  /**
   * Ends the run in progress here: once this freeze's callbacks have settled, the guest stays
   * frozen instead of resuming, and `run()` resolves with `reason: 'held'`. Read what you need,
   * then `stopHeld()` (a stopped VM, as snapshots need) or `cont()` (go on).
   */
  hold(): void;
}

/** A trigger callback. It may be async; the guest resumes when it settles. */
export type TriggerCallback = (context: TriggerContext) => void | Promise<void>;

/** A registered trigger: cancel it before it fires, or see whether it has. */
export interface TriggerHandle {
  readonly id: number;
  /** How many times it fired so far. */
  readonly fired: number;
  /** Disarms it (no-op once a one-shot trigger has fired). */
  cancel(): Promise<void>;
}

/** One instruction of an {@link ExecutionRecording}. */
export interface ExecutedInstruction {
  pc: number;
  /** Which execution of this pc it was within the recording, from 1 (for `at(pc, cb, { hit })`). */
  hit: number;
  /** Its index among all instructions started since QEMU started. */
  count: bigint;
  /** The vCPU that executed it. */
  cpu: number;
}

/** The instructions executed in a pc range, in execution order, as they are recorded. */
export interface ExecutionRecording {
  /** What has been recorded so far (complete up to the last freeze). */
  readonly instructions: readonly ExecutedInstruction[];
  /** Stops recording; resolves with everything recorded. Idempotent. */
  stop(): Promise<ExecutedInstruction[]>;
}
