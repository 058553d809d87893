/**
 * Power loss as a fault model: at the moment the power goes, the machine resets; the regions in
 * `preserve` (the firmware's non-volatile storage) keep what they held, everything else is lost.
 * With `tear`, the write in flight at the moment (an access moment's write) lands only as its
 * first `tear` bytes.
 *
 * How it runs: at the moment's freeze the torn bytes are put back, the preserved bytes read, a
 * trigger armed at the ELF's entry and the block restarted at the pc; the session then stops the
 * guest right there (nothing after the moment executes), resets the machine and runs on. At the entry the variables QEMU's reset does not reload (ELF objects outside the
 * loaded segments: `.bss`, `.noinit`) are cleared and the preserved bytes written back; the
 * firmware then boots as after a power cut, and the run goes on to its end, so the outcome is what
 * the next boot makes of its storage. Loaded segments come back from the ELF, as QEMU's reset
 * reloads them; RAM no symbol covers (stacks, unused memory) keeps its content.
 */
import { readFile } from 'node:fs/promises';
import type { ElfImage } from '../elf/elf-file.js';
import { loadSegments } from '../elf/segments.js';
import { CampaignConfigError, InvalidArgumentError } from '../errors.js';
import type { FaultInjectionFramework } from '../framework/framework.js';
import type { TriggerContext, TriggerHandle } from '../triggers/types.js';
import type { Fault, FaultAction, ResolvedTarget } from './enumerate.js';
import type { InjectionEffect, InjectionHost } from './inject.js';

/** A region power loss keeps: a symbol (its whole size), or an address and length. */
export type PreservedRegion = string | { at: string | number; length: number };

/** The model's spec (plain data, as every fault model). */
export interface PowerLossSpec {
  kind: 'power-loss';
  /** What survives the cut (default: the fault's target). */
  preserve?: PreservedRegion[];
  /** The write in flight lands only as its first `tear` bytes (access moments; default: whole). */
  tear?: number;
}

/**
 * Cuts power at the moment (see the module comment). One fault per memory target, whose region is
 * kept unless `preserve` says what is.
 */
export function powerLoss(options: { preserve?: PreservedRegion[]; tear?: number } = {}): PowerLossSpec {
  const spec: PowerLossSpec = { kind: 'power-loss', ...options };
  checkPowerLoss(spec);
  return spec;
}

/** Checks the spec's shape; throws an {@link InvalidArgumentError} naming the bad piece. */
export function checkPowerLoss(spec: PowerLossSpec): void {
  const bad = (why: string) => new InvalidArgumentError(`power-loss model ${JSON.stringify(spec)}: ${why}`);
  if (spec.tear !== undefined && !(Number.isSafeInteger(spec.tear) && spec.tear >= 0))
    throw bad('tear must be a number of bytes (0 or more)');
  if (spec.preserve !== undefined && !Array.isArray(spec.preserve)) throw bad('preserve must be a list of symbols or { at, length }');
  for (const region of spec.preserve ?? []) {
    if (typeof region === 'string' && region) continue;
    const r = region as { at?: unknown; length?: unknown };
    const atOk = (typeof r.at === 'string' && r.at) || (typeof r.at === 'number' && Number.isSafeInteger(r.at) && r.at >= 0);
    if (!atOk || !(typeof r.length === 'number' && Number.isSafeInteger(r.length) && r.length > 0))
      throw bad('each preserved region is a symbol or { at, length } with a positive length');
  }
}

/** The action of `spec` on `target`: memory targets only. */
export function expandPowerLoss(spec: PowerLossSpec, target: ResolvedTarget): Array<{ action: FaultAction; label: string }> {
  if (target.kind !== 'memory') return [];
  const preserve: PreservedRegion[] = spec.preserve ?? [{ at: target.address, length: target.length }];
  const torn = spec.tear !== undefined ? `, the write torn after ${spec.tear} bytes` : '';
  return [
    { action: { kind: 'power-loss', preserve, ...(spec.tear !== undefined ? { tear: spec.tear } : {}) }, label: `power loss${torn}` },
  ];
}

interface Range {
  address: number;
  length: number;
}

const PHYSICAL = { physical: true } as const;
const overlaps = (a: Range, b: Range) => a.address < b.address + b.length && b.address < a.address + a.length;

function resolveRegion(elf: ElfImage, region: PreservedRegion): Range {
  if (typeof region === 'string') {
    const s = elf.symbol(region);
    return { address: s.address, length: s.size || 4 };
  }
  return { address: typeof region.at === 'number' ? region.at : elf.symbol(region.at).address, length: region.length };
}

/** ELF objects the reset does not reload, by ELF path. */
const volatileCache = new Map<string, Promise<Range[]>>();

/** The ELF's objects outside its loaded segments (`.bss`, `.noinit`...): what a power cut clears. */
function volatileObjects(elf: ElfImage): Promise<Range[]> {
  let ranges = volatileCache.get(elf.path);
  if (!ranges) {
    ranges = readFile(elf.path).then((data) => {
      const loaded = loadSegments(data, elf.bits, elf.endianness).map((s) => ({ address: s.vaddr, length: s.data.length }));
      return [...elf.symbols.values()]
        .filter((s) => s.type === 'object' && s.size > 0)
        .map((s) => ({ address: s.address, length: s.size }))
        .filter((r) => !loaded.some((l) => overlaps(l, r)));
    });
    volatileCache.set(elf.path, ranges);
  }
  return ranges;
}

/** The bytes of the watched region before each write of a run (for torn writes), by the host of the run. */
const trackers = new WeakMap<InjectionHost, { history: Buffer[]; region: Range }>();

/**
 * Arms what a power-loss fault needs from the start of its run: with `tear` at an access moment, a
 * record of the moment's region before every write to it, so the torn part of the write in flight
 * can be put back as it was.
 */
export async function armPowerLoss(host: InjectionHost & { qemu: FaultInjectionFramework }, fault: Fault): Promise<TriggerHandle[]> {
  const { action, moment } = fault;
  if (action.kind !== 'power-loss' || action.tear === undefined || moment.kind !== 'access' || moment.access !== 'write') return [];
  const region = { address: moment.address, length: moment.length };
  const tracker = { history: [await host.qemu.readBytes(region.address, region.length, PHYSICAL)], region };
  trackers.set(host, tracker);
  return [
    await host.qemu.onWrite(region.address, region.length, async () => {
      tracker.history.push(await host.qemu.readBytes(region.address, region.length, PHYSICAL));
    }),
  ];
}

/** Puts back the bytes of the write in flight after its first `tear`. */
async function tearWrite(host: InjectionHost, ctx: TriggerContext, tear: number): Promise<void> {
  const tracker = trackers.get(host);
  const access = ctx.access;
  if (!tracker || !access || access.kind !== 'write')
    throw new CampaignConfigError('tear needs a write access moment (onAccess(..., { access: "write" }))');
  const now = await host.qemu.readBytes(tracker.region.address, tracker.region.length, PHYSICAL);
  // The tracker may or may not have seen this very write yet (both trigger at the same freeze).
  const last = tracker.history.at(-1)!;
  const before = last.equals(now) && tracker.history.length > 1 ? tracker.history.at(-2)! : last;
  const from = Math.max(access.address + tear, tracker.region.address);
  const to = Math.min(access.address + access.size, tracker.region.address + tracker.region.length);
  if (from >= to) return;
  const offset = from - tracker.region.address;
  await host.qemu.writeBytes(from, before.subarray(offset, offset + (to - from)), PHYSICAL);
}

/** Cuts the power at the freeze `ctx` (see the module comment). */
export async function cutPower(
  host: InjectionHost & { qemu: FaultInjectionFramework },
  action: Extract<FaultAction, { kind: 'power-loss' }>,
  ctx: TriggerContext,
): Promise<InjectionEffect> {
  const q = host.qemu;
  const elf = q.elf;
  if (!elf) throw new CampaignConfigError('power loss needs the kernel ELF (its entry and symbols)');
  if (action.tear !== undefined) await tearWrite(host, ctx, action.tear);
  const preserved = await Promise.all(
    action.preserve.map(async (region) => {
      const range = resolveRegion(elf, region);
      return { ...range, bytes: await q.readBytes(range.address, range.length, PHYSICAL) };
    }),
  );
  const lost = (await volatileObjects(elf)).filter((r) => !preserved.some((p) => overlaps(p, r)));
  const entry = elf.machine === 'arm' ? elf.entry & ~1 : elf.entry;
  const boot: TriggerHandle = await q.at(entry, async () => {
    await boot.cancel();
    for (const r of lost) await q.writeBytes(r.address, new Uint8Array(r.length), PHYSICAL);
    for (const p of preserved) await q.writeBytes(p.address, p.bytes, PHYSICAL);
  });
  host.keep(boot);
  if (!host.powerCut) throw new CampaignConfigError('power loss needs a campaign run (it resets the machine)');
  // A register write restarts the block here, so the stop before the reset comes before anything after the cut runs.
  await ctx.registers.set('pc', await ctx.registers.get('pc'));
  host.powerCut(ctx);
  return {
    kind: 'power-loss',
    preserved: preserved.map(({ address, length }) => ({ address, length })),
    ...(action.tear !== undefined ? { tear: action.tear } : {}),
  };
}
