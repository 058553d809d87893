/**
 * Turns a fault space into the campaign's numbered list of faults: symbols resolved, every model
 * expanded over the targets it fits, in one fixed order (part, moment, target, model, parameter),
 * so the same space always gives the same list and the same indices. Also splits the list into
 * shards.
 */
import { CampaignConfigError, InvalidArgumentError } from '../errors.js';
import { hex } from '../integers.js';
import type { RegisterName } from '../triggers/registers.js';
import { checkPairSpec, combinePairs, isPairSpec, type PartFault, type SecondFault } from './pairs.js';
import { expandPowerLoss, type PreservedRegion } from './power-loss.js';
import {
  checkPart,
  type FaultModelSpec,
  type FaultSpacePart,
  type FaultSpaceSpec,
  isTraceMoment,
  type MomentSpec,
  type TargetSpec,
  type TraceMomentSpec,
} from './space.js';

/** A target with its address resolved. */
export type ResolvedTarget =
  | { label: string; kind: 'memory'; address: number; length: number }
  | { label: string; kind: 'register'; register: RegisterName; bits: number }
  | { label: string; kind: 'instruction' };

/** One concrete thing done at the moment. */
export type FaultAction =
  | { kind: 'bit-flip'; bit: number }
  | { kind: 'stuck-at'; value: 0 | 1; bit: number; durationNs?: number; periodNs: number }
  | { kind: 'overwrite'; value: number; size: 1 | 2 | 4; offset: number }
  | { kind: 'skip'; count: number }
  | { kind: 'power-loss'; preserve: PreservedRegion[]; tear?: number };

/**
 * A moment with its symbol resolved; `key` is its label, unique within a campaign. Moments read off
 * the golden run carry what it saw there: the instruction's bytes (hex, memory order) at a pc (and,
 * on M profile, `outsideIt` where no IT block can cover it), the accessing instruction's pc at a
 * data access.
 */
export type ResolvedMoment =
  | { key: string; kind: 'time'; ns: number }
  | { key: string; kind: 'pc'; pc: number; hit: number; bytes?: string; outsideIt?: true }
  | { key: string; kind: 'access'; address: number; length: number; access: 'read' | 'write'; hit: number; pc?: number };

/** The moments a trace moment stands for, read off the golden run (see `executed()`, `accessed()`). */
export type TraceResolver = (spec: TraceMomentSpec) => readonly ResolvedMoment[];

/** One fault of the campaign. */
export interface Fault {
  /** Position in the enumeration (stable for a given space and firmware). */
  index: number;
  /** `<target> <action> @ <moment>`, unique within the campaign. */
  id: string;
  target: ResolvedTarget;
  action: FaultAction;
  /** Human-readable action, e.g. `flip bit 3`. */
  actionLabel: string;
  moment: ResolvedMoment;
  /** A double fault's second fault (see `pairs()`); `id` and `actionLabel` above name both. */
  second?: SecondFault;
}

/** Finds a symbol's address and size (the kernel ELF's table). */
export type SymbolLookup = (name: string) => { address: number; size: number };

/** A register's width in bits on the campaign's machine (32 when not told: every register of a 32-bit core). */
export type RegisterBits = (name: RegisterName) => number;

/** Which part of a split run this is: shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Default re-force period of stuck-at faults. */
export const DEFAULT_STUCK_PERIOD_NS = 50_000;

/** Guest nanoseconds as a short unique label: `5ms`, `5.4ms`, `0.000123ms`. */
export function formatNs(ns: number): string {
  const ms = (ns / 1e6).toFixed(6).replace(/\.?0+$/, '');
  return `${ms}ms`;
}

function resolveAt(at: string | number, lookup: SymbolLookup): number {
  return typeof at === 'number' ? at : lookup(at).address;
}

/** Labels a pc moment. */
export function pcMomentKey(pc: number | string, hit: number): string {
  return `pc ${typeof pc === 'number' ? hex(pc) : pc}#${hit}`;
}

/** Labels an access moment. */
export function accessMomentKey(access: 'read' | 'write', at: number | string, hit: number): string {
  return `${access} ${typeof at === 'number' ? hex(at) : at}#${hit}`;
}

/** Resolves a moment's symbol and gives it its label (trace moments: see {@link TraceResolver}). */
export function resolveMoment(m: Exclude<MomentSpec, TraceMomentSpec>, lookup: SymbolLookup): ResolvedMoment {
  switch (m.kind) {
    case 'time':
      return { key: formatNs(m.ns), kind: 'time', ns: m.ns };
    case 'pc': {
      const hit = m.hit ?? 1;
      return { key: pcMomentKey(m.at, hit), kind: 'pc', pc: resolveAt(m.at, lookup), hit };
    }
    case 'access': {
      const hit = m.hit ?? 1;
      const access = m.access ?? 'write';
      const length = m.length ?? (typeof m.at === 'string' ? lookup(m.at).size || 4 : 4);
      return { key: accessMomentKey(access, m.at, hit), kind: 'access', address: resolveAt(m.at, lookup), length, access, hit };
    }
  }
}

/** Resolves a target's symbol, size and label. */
export function resolveTarget(t: TargetSpec, lookup: SymbolLookup, registerBits: RegisterBits = () => 32): ResolvedTarget {
  switch (t.kind) {
    case 'memory':
      return { label: t.name ?? `${hex(t.address)}[${t.length}]`, kind: 'memory', address: t.address, length: t.length };
    case 'symbol': {
      const sym = lookup(t.symbol);
      const offset = t.offset ?? 0;
      const whole = sym.size > 0 ? sym.size : 4;
      const length = t.length ?? whole - offset;
      if (length < 1) throw new CampaignConfigError(`target ${t.symbol}+${offset}: the offset is past the symbol's ${whole} bytes`);
      const label = offset === 0 && length === whole ? t.symbol : `${t.symbol}[${offset}..${offset + length})`;
      return { label, kind: 'memory', address: sym.address + offset, length };
    }
    case 'register':
      return { label: t.register, kind: 'register', register: t.register, bits: registerBits(t.register) };
    case 'instruction':
      return { label: 'insn', kind: 'instruction' };
  }
}

/** The concrete actions `model` gives on `target`; empty when the model does not fit it. */
export function expandModel(model: FaultModelSpec, target: ResolvedTarget): Array<{ action: FaultAction; label: string }> {
  const width = target.kind === 'memory' ? target.length * 8 : target.kind === 'register' ? target.bits : 0;
  const pickBits = (bits: number[] | undefined) => {
    if (!bits) return Array.from({ length: width }, (_, i) => i);
    const bad = bits.find((b) => b >= width);
    if (bad !== undefined) throw new CampaignConfigError(`bit ${bad} is outside target ${target.label} (${width} bits)`);
    return bits;
  };
  switch (model.kind) {
    case 'bit-flip':
      if (!width) return [];
      return pickBits(model.bits).map((bit) => ({ action: { kind: 'bit-flip', bit }, label: `flip bit ${bit}` }));
    case 'stuck-at': {
      if (!width) return [];
      const periodNs = model.periodNs ?? DEFAULT_STUCK_PERIOD_NS;
      const how = model.durationNs === undefined ? '' : ` for ${formatNs(model.durationNs)}`;
      return pickBits(model.bits).map((bit) => ({
        action: {
          kind: 'stuck-at',
          value: model.value,
          bit,
          periodNs,
          ...(model.durationNs === undefined ? {} : { durationNs: model.durationNs }),
        },
        label: `stuck-at-${model.value} bit ${bit}${how}`,
      }));
    }
    case 'overwrite': {
      const size = model.size ?? 4;
      const bytes = target.kind === 'memory' ? target.length : target.kind === 'register' ? 4 : 0;
      const out: Array<{ action: FaultAction; label: string }> = [];
      // Registers take one value each; memory gets every aligned slot.
      const slots =
        target.kind === 'register' ? (size === 4 ? [0] : []) : Array.from({ length: Math.floor(bytes / size) }, (_, i) => i * size);
      for (const offset of slots) {
        for (const value of model.values)
          out.push({ action: { kind: 'overwrite', value, size, offset }, label: `write ${hex(value)}/${size}@+${offset}` });
      }
      return out;
    }
    case 'power-loss':
      return expandPowerLoss(model, target);
    case 'skip':
      if (target.kind !== 'instruction') return [];
      return [{ action: { kind: 'skip', count: model.count ?? 1 }, label: `skip ${model.count ?? 1}` }];
  }
}

/** The plain parts of a space: its parts, and both halves of its pair parts. */
export function spaceParts(space: FaultSpaceSpec): FaultSpacePart[] {
  return (Array.isArray(space) ? space : [space]).flatMap((p) => (isPairSpec(p) ? [p.first, p.second] : [p]));
}

/**
 * The parts whose moments the golden run must reach: all but the second parts of pairs, whose
 * moments are armed only in the faulted run (after the first fault).
 */
export function goldenParts(space: FaultSpaceSpec): FaultSpacePart[] {
  return (Array.isArray(space) ? space : [space]).flatMap((p) => (isPairSpec(p) ? [p.first] : [p]));
}

/** The trace moments of a space (see `executed()`, `accessed()`), in order of appearance. */
export function traceMoments(space: FaultSpaceSpec): TraceMomentSpec[] {
  return spaceParts(space).flatMap((p) => (Array.isArray(p?.moments) ? p.moments.filter(isTraceMoment) : []));
}

/**
 * Enumerates a fault space; `traced` expands trace moments (read off the golden run). Throws a
 * {@link CampaignConfigError} if it is empty, or an id repeats (the same fault listed twice would
 * be run twice and counted twice).
 */
export function enumerateFaults(space: FaultSpaceSpec, lookup: SymbolLookup, traced?: TraceResolver, registerBits?: RegisterBits): Fault[] {
  const parts = Array.isArray(space) ? space : [space];
  if (!parts.length) throw new CampaignConfigError('the fault space is empty: it has no parts (give targets, models and moments)');
  const faults: Fault[] = [];
  const ids = new Set<string>();
  for (const part of parts) {
    let listed: PartFault[];
    if (isPairSpec(part)) {
      checkPairSpec(part);
      listed = combinePairs(
        partFaults(part.first, lookup, traced, registerBits),
        partFaults(part.second, lookup, traced, registerBits),
        part.withinNs,
      );
    } else listed = partFaults(part, lookup, traced, registerBits);
    for (const fault of listed) {
      if (ids.has(fault.id)) throw new CampaignConfigError(`fault '${fault.id}' is listed twice in the fault space`);
      ids.add(fault.id);
      faults.push({ index: faults.length, ...fault });
    }
  }
  if (!faults.length) {
    const size = (p: FaultSpacePart) => `${p.targets.length} targets × ${p.models.length} models × ${p.moments.length} moments`;
    const sizes = parts.map((p) => (isPairSpec(p) ? `pairs(${size(p.first)}, ${size(p.second)})` : size(p))).join(' + ');
    throw new CampaignConfigError(
      `the fault space is empty (${sizes}): no model applies to any target (skip needs instruction(), flips need memory or registers)`,
    );
  }
  return faults;
}

/** The faults of one part, unnumbered, in order: moment, target, model, parameter. */
function partFaults(
  part: FaultSpacePart,
  lookup: SymbolLookup,
  traced: TraceResolver | undefined,
  registerBits: RegisterBits | undefined,
): PartFault[] {
  checkPart(part);
  const targets = part.targets.map((t) => resolveTarget(t, lookup, registerBits));
  const out: PartFault[] = [];
  const moments = part.moments.flatMap((spec) => {
    if (!isTraceMoment(spec)) return [resolveMoment(spec, lookup)];
    if (!traced) throw new CampaignConfigError(`moment ${JSON.stringify(spec)} is read off the golden run: resolve the campaign first`);
    return traced(spec);
  });
  for (const moment of moments) {
    for (const target of targets) {
      for (const model of part.models) {
        for (const { action, label } of expandModel(model, target)) {
          out.push({ id: `${target.label} ${label} @ ${moment.key}`, target, action, actionLabel: label, moment });
        }
      }
    }
  }
  return out;
}

/** Checks a shard spec. */
export function checkShard(shard: Shard): Shard {
  const ok = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n);
  if (!shard || !ok(shard.count) || shard.count < 1 || !ok(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new InvalidArgumentError(`shard must be { index, count } with 0 <= index < count, got ${JSON.stringify(shard)}`);
  }
  return shard;
}

/**
 * The index range `[start, end)` of shard `index` of `count`: contiguous, so a shard touches as few
 * moments (snapshots) as possible, and balanced to within one fault.
 */
export function shardRange(total: number, shard: Shard): { start: number; end: number } {
  checkShard(shard);
  return { start: Math.floor((shard.index * total) / shard.count), end: Math.floor(((shard.index + 1) * total) / shard.count) };
}

/** Parses `i/n` (1-based, as CI matrices count) into a 0-based {@link Shard}. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`shard must look like 1/4 (1-based index/count), got '${text}'`);
  return checkShard({ index: Number(m[1]) - 1, count: Number(m[2]) });
}
