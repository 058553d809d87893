/**
 * Applies one fault at a freeze. Memory goes through the system address space (qtest: one round
 * trip each way, and the same on Cortex-M as the CPU's view); registers and the PC need an exact
 * freeze, which time moments always give.
 */
import { CampaignConfigError } from '../errors.js';
import type { FaultInjectionFramework } from '../framework/framework.js';
import type { TriggerContext, TriggerHandle } from '../triggers/types.js';
import type { Fault, ResolvedTarget } from './enumerate.js';
import { cutPower } from './power-loss.js';

/** What an injection needs from the run it happens in. */
export interface InjectionHost {
  qemu: FaultInjectionFramework;
  /** False once the run is over: a stuck-at fault stops re-forcing then. */
  active(): boolean;
  /** Keeps a trigger armed for the rest of the run, to be cancelled at its end. */
  keep(handle: TriggerHandle): void;
  /**
   * Bytes seen at a moment by earlier runs, by `<moment>@<address>`: every run from the same start
   * is at the same state there, so a bit flip writes straight away instead of reading first.
   */
  seen?: Map<string, number>;
  /** Ends this freeze with a machine reset: the guest is stopped here, reset, and runs on (power loss). */
  powerCut?(ctx: TriggerContext): void;
}

const PHYSICAL = { physical: true } as const;

/** Sets, clears or flips bit `bit` of a memory target or a register. */
async function forceBit(host: InjectionHost, target: ResolvedTarget, ctx: TriggerContext, bit: number, to: 0 | 1 | 'flip'): Promise<void> {
  if (target.kind === 'memory') {
    const address = target.address + (bit >> 3);
    const mask = 1 << (bit & 7);
    const [byte] = await host.qemu.readBytes(address, 1, PHYSICAL);
    const next = to === 'flip' ? byte! ^ mask : to ? byte! | mask : byte! & ~mask;
    if (next !== byte) await host.qemu.writeBytes(address, Uint8Array.of(next), PHYSICAL);
    return;
  }
  if (target.kind === 'register') {
    const value = BigInt(await ctx.registers.get(target.register));
    const mask = 1n << BigInt(bit);
    const next = to === 'flip' ? value ^ mask : to ? value | mask : value & ~mask;
    if (next !== value) await ctx.registers.set(target.register, next);
    return;
  }
  throw new CampaignConfigError(`cannot change bits of target ${target.label}`);
}

/** Injects `fault` at the freeze `ctx`. */
export async function inject(host: InjectionHost, fault: Fault, ctx: TriggerContext): Promise<void> {
  const { target, action } = fault;
  switch (action.kind) {
    case 'bit-flip': {
      if (target.kind !== 'memory' || !host.seen) return forceBit(host, target, ctx, action.bit, 'flip');
      const address = target.address + (action.bit >> 3);
      const key = `${fault.moment.key}@${address}`;
      let byte = host.seen.get(key);
      if (byte === undefined) {
        byte = (await host.qemu.readBytes(address, 1, PHYSICAL))[0]!;
        host.seen.set(key, byte);
      }
      return host.qemu.writeBytes(address, Uint8Array.of(byte ^ (1 << (action.bit & 7))), PHYSICAL);
    }
    case 'stuck-at': {
      const until = action.durationNs === undefined ? Number.POSITIVE_INFINITY : ctx.timeNs + action.durationNs;
      const hold = async (at: TriggerContext): Promise<void> => {
        if (!host.active() || at.timeNs >= until) return;
        await forceBit(host, target, at, action.bit, action.value);
        // Re-forced every period, since the firmware may write the location in between.
        host.keep(await host.qemu.notify(action.periodNs, hold, { relative: true }));
      };
      return hold(ctx);
    }
    case 'overwrite': {
      if (target.kind === 'register') return ctx.registers.set(target.register, action.value);
      if (target.kind !== 'memory') throw new CampaignConfigError(`cannot overwrite target ${target.label}`);
      const bytes = Buffer.alloc(action.size);
      const big = host.qemu.elf?.endianness === 'big';
      if (big) bytes.writeUIntBE(action.value, 0, action.size);
      else bytes.writeUIntLE(action.value, 0, action.size);
      return host.qemu.writeBytes(target.address + action.offset, bytes, PHYSICAL);
    }
    case 'skip':
      await host.qemu.skip(action.count);
      return;
    case 'power-loss':
      return cutPower(host, fault, ctx);
  }
}
