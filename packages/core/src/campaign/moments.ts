/** Arming a campaign's moments, and what a freeze at one can be trusted for. */
import { ChannelUnavailableError } from '../errors.js';
import type { FaultInjectionFramework } from '../framework/framework.js';
import type { TriggerCallback, TriggerContext, TriggerHandle } from '../triggers/types.js';
import type { ResolvedMoment } from './enumerate.js';

/**
 * Whether a freeze's guest time is exact to the instruction. Only time freezes are: at a PC or data
 * freeze QEMU's virtual clock already counts the whole block being executed, whose length depends
 * on how it was translated (it differs between a fresh boot and a loaded snapshot), so such times
 * are never recorded as evidence.
 */
export function exactTime(ctx: TriggerContext): boolean {
  return ctx.kind === 'time';
}

/** Arms `cb` at a moment (`hit` overrides the moment's own hit count). */
export function armMoment(
  qemu: FaultInjectionFramework,
  m: ResolvedMoment,
  hit: number | undefined,
  cb: TriggerCallback,
): Promise<TriggerHandle> {
  if (m.kind === 'time') return qemu.notify(m.ns, cb);
  if (m.kind === 'pc') return qemu.at(m.pc, cb, { hit: hit ?? m.hit });
  return armAccess(qemu, m, hit ?? m.hit, cb);
}

/**
 * Arms `cb` at the `hit`-th access of a data moment. The framework's watchpoints fire at every
 * access until cancelled, so earlier hits are counted here and the watchpoint goes at the one wanted.
 */
async function armAccess(
  qemu: FaultInjectionFramework,
  moment: Extract<ResolvedMoment, { kind: 'access' }>,
  hit: number,
  cb: TriggerCallback,
): Promise<TriggerHandle> {
  const watch = moment.access === 'write' ? qemu.onWrite : qemu.onRead;
  if (typeof watch !== 'function') {
    throw new ChannelUnavailableError(
      'data triggers',
      `the access moment '${moment.key}'`,
      'This build of the framework has no onWrite()/onRead(); use a time or PC moment.',
    );
  }
  let seen = 0;
  const handle: TriggerHandle = await watch.call(qemu, moment.address, moment.length, async (ctx) => {
    if (++seen !== hit) return;
    await handle.cancel();
    await cb(ctx);
  });
  return handle;
}
