/**
 * Traps that end a run where the firmware exits, detects or crashes: a PC trigger on a detection
 * or crash handler, or on a semihosting call site. An exit is caught at its `bkpt 0xab` before it
 * ends QEMU (the guest then continues past it), so the worker's QEMU survives the firmware's exit.
 */
import { InvalidArgumentError } from '../errors.js';
import type { FaultInjectionFramework } from '../framework/framework.js';
import type { RegisterValue } from '../gdb/register-value.js';
import type { TriggerContext, TriggerHandle } from '../triggers/types.js';
import { ADP_STOPPED_APPLICATION_EXIT, SYS_EXIT, SYS_EXIT_EXTENDED } from './elf-code.js';
import { exactTime } from './moments.js';

/** Code whose execution ends a run: a detection or crash handler, or a semihosting call (exit). */
export interface Trap {
  name: string;
  pc: number;
  kind: 'detect' | 'crash' | 'exit';
  /** Exit traps: the first instruction after the semihosting sequence, where the guest goes on. */
  next?: number;
}

/** A trap reached during a run. */
export interface TrapHit {
  trap: Trap;
  /** The firmware's exit code, for exit traps. */
  exitCode?: number | undefined;
  /** Guest time, where it is exact (see `exactTime`). */
  timeNs?: number | undefined;
}

/** Learned at run time and shared by all sessions: whether exit traps freeze exactly (registers readable). */
export interface TrapCapabilities {
  exitTrapsExact?: boolean;
}

const PHYSICAL = { physical: true } as const;
const noop = () => undefined;

/** The traps of one QEMU. Each stays armed until reached, across runs and snapshot loads. */
export class Traps {
  private readonly armed = new Map<Trap, TriggerHandle>();
  /** Told when a trap is reached during a run (with the freeze, to hold the guest there); unset between runs. */
  onHit: ((ctx: TriggerContext, hit: TrapHit) => void) | undefined;

  constructor(
    private readonly qemu: FaultInjectionFramework,
    private readonly traps: readonly Trap[],
    private readonly capabilities: TrapCapabilities,
  ) {}

  /**
   * Arms every trap not armed yet (exit traps only while they are known to freeze exactly), but
   * none at `except`: a run whose moment is on a trap's instruction (a skipped exit call) takes the
   * trap from the moment's callback, after the fault (see {@link reach}).
   */
  async arm(except?: number): Promise<void> {
    for (const trap of this.traps) {
      if (trap.pc === except) {
        const handle = this.armed.get(trap);
        this.armed.delete(trap);
        await handle?.cancel();
        continue;
      }
      if (this.armed.has(trap) || (trap.kind === 'exit' && this.capabilities.exitTrapsExact === false)) continue;
      this.armed.set(trap, await this.qemu.at(trap.pc, (ctx) => this.reached(trap, ctx)));
    }
  }

  /** The trap on the instruction at `pc`, if any. */
  at(pc: number): Trap | undefined {
    return this.traps.find((t) => t.pc === pc);
  }

  /** Takes `trap` at the freeze `ctx` as if its trigger had fired (for a trap left unarmed by {@link arm}). */
  reach(trap: Trap, ctx: TriggerContext): Promise<void> {
    return this.reached(trap, ctx);
  }

  private async reached(trap: Trap, ctx: TriggerContext): Promise<void> {
    this.armed.delete(trap);
    let exitCode: number | undefined;
    if (trap.kind === 'exit') {
      const code = await this.exitCode(ctx);
      if (code === 'not-exit') return;
      if (code === 'inexact') return this.disarmExits();
      this.capabilities.exitTrapsExact = true;
      exitCode = code;
    }
    this.onHit?.(ctx, { trap, exitCode, ...(exactTime(ctx) ? { timeNs: ctx.timeNs } : {}) });
    // Continue past the semihosting call instead of into it: it would end QEMU.
    if (trap.kind === 'exit') await ctx.registers.set('pc', trap.next ?? trap.pc + 2);
  }

  /** This plugin cannot show registers at PC freezes: let exits end QEMU from now on. */
  private disarmExits(): void {
    this.capabilities.exitTrapsExact = false;
    for (const [trap, handle] of this.armed) {
      if (trap.kind !== 'exit') continue;
      this.armed.delete(trap);
      void handle.cancel().catch(noop);
    }
  }

  /** The exit code of the semihosting call about to run, 'not-exit' for other calls, 'inexact' where registers cannot be read. */
  private async exitCode(ctx: TriggerContext): Promise<number | 'not-exit' | 'inexact'> {
    let regs: Record<string, RegisterValue>;
    try {
      regs = await ctx.registers.all();
    } catch (err) {
      if (err instanceof InvalidArgumentError) return 'inexact';
      throw err;
    }
    const arch = await this.qemu.architecture(ctx.cpu);
    const [opName, argName] = arch.semihostingRegisters;
    const op = Number(regs[opName]);
    const arg = regs[argName]!;
    const wide = arch.wordBits === 64;
    // A 32-bit SYS_EXIT carries the reason itself; a 64-bit one points at a block, as SYS_EXIT_EXTENDED.
    if (op === SYS_EXIT && !wide) return Number(arg) === ADP_STOPPED_APPLICATION_EXIT ? 0 : 1;
    if (op !== SYS_EXIT && op !== SYS_EXIT_EXTENDED) return 'not-exit';
    const block = await this.qemu.readBytes(arg, wide ? 16 : 8, PHYSICAL);
    const reason = wide ? Number(block.readBigUInt64LE(0)) : block.readUInt32LE(0);
    const code = wide ? Number(block.readBigUInt64LE(8) & 0xffn) : block.readUInt32LE(4) & 0xff;
    // As QEMU does: the code for an application exit, 1 for any other reason; the OS keeps 8 bits.
    return reason === ADP_STOPPED_APPLICATION_EXIT ? code : 1;
  }
}
