/**
 * Trace moments (`executed()`, `accessed()`) during the golden pass: every instruction executed in
 * a range, or every access to a memory range, recorded in execution order and turned into pc and
 * access moments, each with its position (instructions since boot) for placing snapshots.
 */
import type { FaultInjectionFramework } from '../framework/framework.js';
import { hex } from '../integers.js';
import type { TriggerHandle } from '../triggers/types.js';
import { accessMomentKey, pcMomentKey, type ResolvedMoment, type SymbolLookup } from './enumerate.js';
import type { TraceMomentSpec } from './space.js';
import { instructionAt, outsideItBlock } from './thumb.js';

/** A moment read off the golden run, with its position there. */
export interface TracedMoment {
  moment: ResolvedMoment;
  /** Instructions started since boot when the moment came (the executed instruction's own index). */
  position: number;
}

/** Trace moments being recorded; `finish()` stops the recording (QEMU stopped) and expands them. */
export interface TraceRecording {
  finish(): Promise<Map<string, TracedMoment[]>>;
}

/** The key of a trace moment spec: its JSON. */
export const traceKey = (spec: TraceMomentSpec): string => JSON.stringify(spec);

/** Starts recording every trace moment of `specs` from the current (stopped, fresh) state on. */
export async function recordTraceMoments(
  qemu: FaultInjectionFramework,
  specs: readonly TraceMomentSpec[],
  lookup: SymbolLookup,
): Promise<TraceRecording> {
  const finishers: Array<() => Promise<[string, TracedMoment[]]>> = [];
  for (const spec of [...new Map(specs.map((s) => [traceKey(s), s])).values()]) {
    const key = traceKey(spec);
    if (spec.kind === 'executed') {
      const range = 'in' in spec ? { in: spec.in } : { from: spec.from, to: spec.to };
      const recording = await qemu.recordExecution(range);
      finishers.push(async () => {
        const executed = await recording.stop();
        const bytes = new Map<number, string>();
        for (const { pc } of executed) if (!bytes.has(pc)) bytes.set(pc, (await instructionAt(qemu, pc)).bytes);
        const sequence = executed.map(({ pc, count }) => ({ pc, bytes: bytes.get(pc)!, position: Number(count) }));
        const thumb = (await qemu.architecture()).id === 'arm-m';
        const moments = executed.map(({ pc, hit }, i) => ({
          moment: {
            key: pcMomentKey(pc, hit),
            kind: 'pc' as const,
            pc,
            hit,
            bytes: sequence[i]!.bytes,
            ...(thumb && outsideItBlock(sequence, i) ? { outsideIt: true as const } : {}),
          },
          position: sequence[i]!.position,
        }));
        return [key, moments];
      });
    } else {
      const named = typeof spec.in === 'string';
      const address = typeof spec.in === 'string' ? lookup(spec.in).address : spec.in.at;
      const length = typeof spec.in === 'string' ? lookup(spec.in).size || 4 : spec.in.length;
      const access = spec.access ?? 'write';
      const label = named ? (spec.in as string) : hex(address);
      const moments: TracedMoment[] = [];
      const watch = access === 'write' ? qemu.onWrite : qemu.onRead;
      const handle: TriggerHandle = await watch.call(qemu, address, length, (ctx) => {
        const hit = moments.length + 1;
        moments.push({
          moment: { key: accessMomentKey(access, label, hit), kind: 'access', address, length, access, hit, pc: ctx.access?.pc ?? ctx.pc },
          position: Number(ctx.instructions),
        });
      });
      finishers.push(async () => {
        await handle.cancel();
        return [key, moments];
      });
    }
  }
  return {
    finish: async () => {
      const out = new Map<string, TracedMoment[]>();
      for (const finish of finishers) {
        const [key, moments] = await finish();
        out.set(key, moments);
      }
      return out;
    },
  };
}
