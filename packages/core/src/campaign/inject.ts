/**
 * Applies one fault at a freeze and says what it changed. Memory goes through the system address
 * space (qtest: one round trip each way, and the same on Cortex-M as the CPU's view); registers and
 * the PC need an exact freeze, which time moments always give.
 */
import { CampaignConfigError } from '../errors.js';
import type { FaultInjectionFramework } from '../framework/framework.js';
import type { RegisterName } from '../triggers/registers.js';
import type { TriggerContext, TriggerHandle } from '../triggers/types.js';
import type { Fault, ResolvedTarget } from './enumerate.js';
import { cutPower } from './power-loss.js';
import { type SkipEffect, skipInstructions } from './thumb.js';

/** What an injection needs from the run it happens in. */
export interface InjectionHost {
  qemu: FaultInjectionFramework;
  /** False once the run is over: a stuck-at fault stops re-forcing then. */
  active(): boolean;
  /** Keeps a trigger armed for the rest of the run, to be cancelled at its end. */
  keep(handle: TriggerHandle): void;
  /**
   * Bytes seen at a moment by earlier runs, by `<moment>@<address>`: every run from the same start
   * is at the same state there, so a fault writes straight away instead of reading first.
   */
  seen?: Map<string, number>;
  /** Ends this freeze with a machine reset: the guest is stopped here, reset, and runs on (power loss). */
  powerCut?(ctx: TriggerContext): void;
}

/**
 * The proof that a fault took effect: the old and new value of what it changed (memory bytes as
 * hex in address order; a register's value), or the instructions it skipped.
 */
export type InjectionEffect =
  | { kind: 'memory'; address: number; old: string; new: string }
  | { kind: 'register'; register: RegisterName; old: number | string; new: number | string }
  | SkipEffect
  /** The power cut: the regions kept through the reset, and the torn write's prefix length if any. */
  | { kind: 'power-loss'; preserved: Array<{ address: number; length: number }>; tear?: number };

const PHYSICAL = { physical: true } as const;

/** A register value as plain JSON: a number where exact, else hex (a 64-bit register). */
const plain = (v: bigint): number | string => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${v.toString(16)}`);

/** Memory bytes at the moment: from `seen` (earlier runs at the same moment), else read (and remembered). */
async function bytesAt(host: InjectionHost, moment: string, address: number, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    const key = `${moment}@${address + i}`;
    const byte = host.seen?.get(key);
    if (byte === undefined) {
      const read = await host.qemu.readBytes(address + i, length - i, PHYSICAL);
      for (let j = 0; j < read.length; j++) host.seen?.set(`${moment}@${address + i + j}`, read[j]!);
      read.copy(out, i);
      break;
    }
    out[i] = byte;
  }
  return out;
}

/** Writes `next` over the bytes at `address` (`old`: what was there). */
async function writeMemory(host: InjectionHost, address: number, old: Buffer, next: Buffer): Promise<InjectionEffect> {
  if (!next.equals(old)) await host.qemu.writeBytes(address, next, PHYSICAL);
  return { kind: 'memory', address, old: old.toString('hex'), new: next.toString('hex') };
}

/** Sets, clears or flips bit `bit` of a memory target or a register. */
async function forceBit(
  host: InjectionHost,
  fault: Fault,
  ctx: TriggerContext,
  bit: number,
  to: 0 | 1 | 'flip',
  cached: boolean,
): Promise<InjectionEffect> {
  const { target } = fault;
  if (target.kind === 'memory') {
    const address = target.address + (bit >> 3);
    const mask = 1 << (bit & 7);
    const old = cached ? await bytesAt(host, fault.moment.key, address, 1) : await host.qemu.readBytes(address, 1, PHYSICAL);
    const byte = old[0]!;
    const next = to === 'flip' ? byte ^ mask : to ? byte | mask : byte & ~mask;
    return writeMemory(host, address, old, Buffer.of(next));
  }
  if (target.kind === 'register') {
    const read = await ctx.registers.get(target.register);
    const value = BigInt(read);
    const mask = 1n << BigInt(bit);
    const next = to === 'flip' ? value ^ mask : to ? value | mask : value & ~mask;
    // Written back as read: a number up to 32 bits, a bigint beyond.
    if (next !== value) await ctx.registers.set(target.register, typeof read === 'bigint' ? next : Number(next));
    return { kind: 'register', register: target.register, old: plain(value), new: plain(next) };
  }
  throw new CampaignConfigError(`cannot change bits of target ${(target as ResolvedTarget).label}`);
}

/** Injects `fault` at the freeze `ctx`; resolves with what it changed (a stuck-at fault: its first forcing). */
export async function inject(host: InjectionHost, fault: Fault, ctx: TriggerContext): Promise<InjectionEffect> {
  const { target, action } = fault;
  switch (action.kind) {
    case 'bit-flip':
      return forceBit(host, fault, ctx, action.bit, 'flip', true);
    case 'stuck-at': {
      const until = action.durationNs === undefined ? Number.POSITIVE_INFINITY : ctx.timeNs + action.durationNs;
      const hold = async (at: TriggerContext): Promise<InjectionEffect | undefined> => {
        if (!host.active() || at.timeNs >= until) return undefined;
        const effect = await forceBit(host, fault, at, action.bit, action.value, false);
        // Re-forced every period, since the firmware may write the location in between.
        host.keep(await host.qemu.notify(action.periodNs, async (next) => void (await hold(next)), { relative: true }));
        return effect;
      };
      return (await hold(ctx))!;
    }
    case 'overwrite': {
      if (target.kind === 'register') {
        const old = await ctx.registers.get(target.register);
        await ctx.registers.set(target.register, action.value);
        return { kind: 'register', register: target.register, old: plain(BigInt(old)), new: action.value };
      }
      if (target.kind !== 'memory') throw new CampaignConfigError(`cannot overwrite target ${target.label}`);
      const bytes = Buffer.alloc(action.size);
      const big = host.qemu.elf?.endianness === 'big';
      if (big) bytes.writeUIntBE(action.value, 0, action.size);
      else bytes.writeUIntLE(action.value, 0, action.size);
      const address = target.address + action.offset;
      return writeMemory(host, address, await bytesAt(host, fault.moment.key, address, action.size), bytes);
    }
    case 'skip': {
      // What the golden run saw at this instruction holds at a first fault (the state is the golden
      // one until then), not at a second (`seen` withheld: the first fault may have changed it).
      const m = fault.moment;
      const known = host.seen && m.kind === 'pc' && m.pc === ctx.pc ? { bytes: m.bytes, outsideIt: m.outsideIt } : {};
      return skipInstructions(host.qemu, ctx, action.count, known);
    }
    case 'power-loss':
      return cutPower(host, action, ctx);
  }
}
