/**
 * Double faults: a fault space part that combines every fault of one part with every fault of
 * another at the same or a later moment, within a window. A pair runs as its first fault (its
 * moment, snapshot and golden run); the second fault's moment is armed once the first is injected,
 * so a PC or data moment's hit is counted in the faulted run from there — the second moment may
 * well be one the golden run never reaches (code only the first fault leads to).
 */
import { InvalidArgumentError } from '../errors.js';
import type { FaultInjectionFramework } from '../framework/framework.js';
import type { TriggerContext, TriggerHandle } from '../triggers/types.js';
import type { Fault, FaultAction, ResolvedMoment, ResolvedTarget } from './enumerate.js';
import { type InjectionHost, inject } from './inject.js';
import { armMoment } from './moments.js';
import { checkPart, type FaultSpacePart } from './space.js';

/** A part of pairs: `first` × `second`, the second at the same or a later moment, at most `withinNs` after. */
export interface PairSpec {
  kind: 'pairs';
  first: FaultSpacePart;
  second: FaultSpacePart;
  withinNs?: number;
}

/** The second fault of a pair. */
export interface SecondFault {
  id: string;
  target: ResolvedTarget;
  action: FaultAction;
  actionLabel: string;
  moment: ResolvedMoment;
  /** Longest guest time from the first injection to this one. */
  withinNs?: number;
}

/**
 * Every fault of `first` combined with every fault of `second` at the same or a later moment,
 * within `withinNs` of guest time. Between time moments that is decided up front; a PC or data
 * moment's time is known only in the run, so such pairs are all listed, and a second moment that
 * comes later than the window (or never) leaves the pair a single fault (`secondInjected: false`).
 */
export function pairs(first: FaultSpacePart, second: FaultSpacePart, options: { withinNs?: number } = {}): PairSpec {
  const spec: PairSpec = { kind: 'pairs', first, second, ...(options.withinNs !== undefined ? { withinNs: options.withinNs } : {}) };
  checkPairSpec(spec);
  return spec;
}

/** Whether a part of a fault space is a {@link PairSpec}. */
export function isPairSpec(part: FaultSpacePart | PairSpec): part is PairSpec {
  return (part as PairSpec).kind === 'pairs';
}

/** Checks a pair part's shape; throws an {@link InvalidArgumentError} naming the bad piece. */
export function checkPairSpec(spec: PairSpec): void {
  checkPart(spec.first);
  checkPart(spec.second);
  const w = spec.withinNs;
  if (w !== undefined && !(Number.isSafeInteger(w) && w >= 0))
    throw new InvalidArgumentError(`pairs: withinNs must be a non-negative integer, got ${String(w)}`);
}

/** An unnumbered fault, as a part enumerates it. */
export type PartFault = Omit<Fault, 'index'>;

/** Whether `b` may follow `a` within `withinNs` (decided here between time moments only). */
function mayFollow(a: ResolvedMoment, b: ResolvedMoment, withinNs: number | undefined): boolean {
  if (a.kind !== 'time' || b.kind !== 'time') return true;
  return b.ns >= a.ns && (withinNs === undefined || b.ns - a.ns <= withinNs);
}

/** The pairs of two enumerated parts, in order (first fault, then second). */
export function combinePairs(firsts: readonly PartFault[], seconds: readonly PartFault[], withinNs: number | undefined): PartFault[] {
  const out: PartFault[] = [];
  for (const a of firsts) {
    for (const b of seconds) {
      if (!mayFollow(a.moment, b.moment, withinNs)) continue;
      const second: SecondFault = {
        id: b.id,
        target: b.target,
        action: b.action,
        actionLabel: b.actionLabel,
        moment: b.moment,
        ...(withinNs !== undefined ? { withinNs } : {}),
      };
      out.push({
        ...a,
        id: `${a.id}, then ${b.id}`,
        actionLabel: `${a.actionLabel}, then ${b.target.label} ${b.actionLabel} @ ${b.moment.key}`,
        second,
      });
    }
  }
  return out;
}

/**
 * Injects a pair's second fault: at once when both share the moment, else at the second moment,
 * armed now (from the first injection's freeze `ctx`). Reports through `injected` when it happened.
 */
export async function armSecond(
  host: InjectionHost & { qemu: FaultInjectionFramework },
  fault: Fault,
  ctx: TriggerContext,
  injected: () => void,
): Promise<void> {
  const then = fault.second!;
  const secondFault: Fault = { ...then, index: fault.index };
  // The state at the second moment depends on the first fault: nothing cached applies there.
  const fresh: InjectionHost = { ...host, seen: undefined };
  if (then.moment.key === fault.moment.key) {
    await inject(fresh, secondFault, ctx);
    return injected();
  }
  const firstNs = ctx.timeNs;
  const handle: TriggerHandle = await armMoment(host.qemu, then.moment, undefined, async (at) => {
    await handle.cancel();
    if (!host.active() || (then.withinNs !== undefined && at.timeNs - firstNs > then.withinNs)) return;
    await inject(fresh, secondFault, at);
    injected();
  });
  host.keep(handle);
}
