/**
 * The parts a fault space is built from: targets, fault models and moments. Every part is plain
 * data (a JSON config can write them by hand, and results files record them as they are); the
 * functions below only build and check them.
 */

import { isRegisterName } from '../arch/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { RegisterName } from '../triggers/registers.js';
import type { PairSpec } from './pairs.js';
import { checkPowerLoss, type PowerLossSpec } from './power-loss.js';

/** Where a fault lands. */
export type TargetSpec =
  | { kind: 'memory'; address: number; length: number; name?: string }
  | { kind: 'symbol'; symbol: string; offset?: number; length?: number }
  | { kind: 'register'; register: RegisterName }
  | { kind: 'instruction' };

/** What a fault does to its target. */
export type FaultModelSpec =
  | { kind: 'bit-flip'; bits?: number[] }
  | { kind: 'stuck-at'; value: 0 | 1; bits?: number[]; durationNs?: number; periodNs?: number }
  | { kind: 'overwrite'; values: number[]; size?: 1 | 2 | 4 }
  | { kind: 'skip'; count?: number }
  | PowerLossSpec;

/** When a fault is injected. */
export type MomentSpec =
  | { kind: 'time'; ns: number }
  | { kind: 'pc'; at: string | number; hit?: number }
  | { kind: 'access'; at: string | number; access?: 'read' | 'write'; hit?: number; length?: number }
  | TraceMomentSpec;

/**
 * Moments read off the golden run: one per dynamic instruction executed in a function or a pc range
 * (`executed`), or one per guest access to a memory range (`accessed`), in execution order.
 */
export type TraceMomentSpec =
  | { kind: 'executed'; in: string }
  | { kind: 'executed'; from: string | number; to: string | number }
  | { kind: 'accessed'; in: string | { at: number; length: number }; access?: 'read' | 'write' };

/** One product of targets × models × moments; a model applies only to the targets it fits. */
export interface FaultSpacePart {
  targets: TargetSpec[];
  models: FaultModelSpec[];
  moments: MomentSpec[];
}

/** A fault space: one part, or the union of several (in order), double faults among them (see `pairs()`). */
export type FaultSpaceSpec = FaultSpacePart | Array<FaultSpacePart | PairSpec>;

// ---- targets ------------------------------------------------------------------------------------

/** `length` bytes at `address` (physical = virtual on Cortex-M). */
export function memory(address: number, length: number, name?: string): TargetSpec {
  return { kind: 'memory', address, length, ...(name ? { name } : {}) };
}

/** A symbol of the kernel ELF: its whole size (4 bytes when the ELF gives none), or a slice of it. */
export function symbol(name: string, options: { offset?: number; length?: number } = {}): TargetSpec {
  return { kind: 'symbol', symbol: name, ...options };
}

/** Core registers, one target each. */
export function registers(...names: RegisterName[]): TargetSpec[] {
  return names.map((register) => ({ kind: 'register', register }));
}

/** The instruction about to execute at the moment (for {@link skip}). */
export function instruction(): TargetSpec {
  return { kind: 'instruction' };
}

// ---- fault models -------------------------------------------------------------------------------

/** Flips one bit per fault: every bit of the target, or only `bits`. */
export function bitFlip(options: { bits?: number[] } = {}): FaultModelSpec {
  return { kind: 'bit-flip', ...options };
}

/**
 * Holds one bit at `value` from the moment on: permanently (to the end of the run), or for
 * `durationNs`. The bit is forced again every `periodNs` of guest time (default 50 000 ns), so a
 * firmware write in between is overridden at the next period.
 */
export function stuckAt(value: 0 | 1, options: { bits?: number[]; durationNs?: number; periodNs?: number } = {}): FaultModelSpec {
  return { kind: 'stuck-at', value, ...options };
}

/** Overwrites each aligned `size`-byte slot of the target with each of `values`. */
export function overwrite(values: number | number[], options: { size?: 1 | 2 | 4 } = {}): FaultModelSpec {
  return { kind: 'overwrite', values: Array.isArray(values) ? values : [values], ...options };
}

/** Skips `count` instructions (default 1) at the moment; needs an exact freeze (time moments, or exact PC triggers). */
export function skip(count = 1): FaultModelSpec {
  return { kind: 'skip', count };
}

// ---- moments ------------------------------------------------------------------------------------

/** At guest time `ns` (see the README's "What guest time means"). */
export function atTime(ns: number): MomentSpec {
  return { kind: 'time', ns };
}

/** Every `stepNs` from `fromNs` up to and including `toNs`. */
export function everyNs(fromNs: number, toNs: number, stepNs: number): MomentSpec[] {
  if (!(Number.isSafeInteger(stepNs) && stepNs > 0))
    throw new InvalidArgumentError(`everyNs: step must be a positive integer, got ${stepNs}`);
  if (!(Number.isSafeInteger(fromNs) && Number.isSafeInteger(toNs) && fromNs <= toNs)) {
    throw new InvalidArgumentError(`everyNs: need integers from <= to, got ${fromNs}..${toNs}`);
  }
  const moments: MomentSpec[] = [];
  for (let t = fromNs; t <= toNs; t += stepNs) moments.push(atTime(t));
  return moments;
}

/** Just before the instruction at `at` (symbol or address) executes for the `hit`-th time. */
export function atPc(at: string | number, hit = 1): MomentSpec {
  return { kind: 'pc', at, hit };
}

/**
 * Right after the `hit`-th guest access of kind `access` (default `write`) to `length` bytes at
 * `at` (default: the symbol's size, or 4 bytes at an address), before the next instruction.
 */
export function onAccess(at: string | number, options: { access?: 'read' | 'write'; hit?: number; length?: number } = {}): MomentSpec {
  return {
    kind: 'access',
    at,
    access: options.access ?? 'write',
    hit: options.hit ?? 1,
    ...(options.length ? { length: options.length } : {}),
  };
}

/**
 * Every instruction the golden run executes in function `in` (its symbol's extent) or in the pc
 * range `[from, to)` (symbols or addresses): one moment per dynamic instruction `(pc, hit)`, in
 * execution order, each just before that execution (as `atPc(pc, hit)`).
 */
export function executed(range: { in: string } | { from: string | number; to: string | number }): TraceMomentSpec {
  return 'in' in range ? { kind: 'executed', in: range.in } : { kind: 'executed', from: range.from, to: range.to };
}

/**
 * Every guest access of kind `access` (default `write`) the golden run makes to a symbol (its whole
 * size) or to `{ at, length }`: one moment per access, right after it (as `onAccess(at, { hit })`).
 */
export function accessed(
  range: { in: string | { at: number; length: number } },
  options: { access?: 'read' | 'write' } = {},
): TraceMomentSpec {
  return { kind: 'accessed', in: range.in, access: options.access ?? 'write' };
}

/** Whether a moment is read off the golden run (see {@link executed}, {@link accessed}). */
export function isTraceMoment(m: MomentSpec): m is TraceMomentSpec {
  return m.kind === 'executed' || m.kind === 'accessed';
}

/** Builds a fault space from parts, checking each part's shape (pair parts check themselves in `pairs()`). */
export function faultSpace(...parts: Array<FaultSpacePart | PairSpec>): Array<FaultSpacePart | PairSpec> {
  for (const part of parts) if ((part as PairSpec).kind !== 'pairs') checkPart(part as FaultSpacePart);
  return parts;
}

// ---- checks (shared by the builders and by definitions loaded from JSON) --------------------------

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function fail(what: string, value: unknown, why: string): never {
  throw new InvalidArgumentError(`${what} ${JSON.stringify(value)}: ${why}`);
}

/** Checks one part's shape; throws an {@link InvalidArgumentError} naming the bad piece. */
export function checkPart(part: FaultSpacePart): void {
  if (!part || typeof part !== 'object') fail('fault space part', part, 'must be an object with targets, models and moments');
  for (const key of ['targets', 'models', 'moments'] as const) {
    if (!Array.isArray(part[key])) fail('fault space part', Object.keys(part), `needs an array \`${key}\``);
  }
  part.targets.forEach(checkTarget);
  part.models.forEach(checkModel);
  part.moments.forEach(checkMoment);
}

export function checkTarget(t: TargetSpec): void {
  switch (t?.kind) {
    case 'memory':
      if (!isInt(t.address) || t.address < 0) fail('memory target', t, 'address must be a non-negative integer');
      if (!isInt(t.length) || t.length < 1) fail('memory target', t, 'length must be a positive integer');
      return;
    case 'symbol':
      if (typeof t.symbol !== 'string' || !t.symbol) fail('symbol target', t, 'needs a symbol name');
      if (t.offset !== undefined && (!isInt(t.offset) || t.offset < 0)) fail('symbol target', t, 'offset must be a non-negative integer');
      if (t.length !== undefined && (!isInt(t.length) || t.length < 1)) fail('symbol target', t, 'length must be a positive integer');
      return;
    case 'register':
      if (!isRegisterName(t.register)) {
        fail(
          'register target',
          t,
          'unknown register: not a core register of any architecture (ARM r0–r15, sp, lr, pc, xpsr; AArch64 x0–x30, sp, pc, cpsr; RISC-V x0–x31, a0…, pc)',
        );
      }
      return;
    case 'instruction':
      return;
    default:
      fail('target', t, "kind must be 'memory', 'symbol', 'register' or 'instruction'");
  }
}

export function checkModel(m: FaultModelSpec): void {
  const checkBits = (bits: unknown) => {
    if (bits !== undefined && (!Array.isArray(bits) || bits.some((b) => !isInt(b) || b < 0)))
      fail('fault model', m, 'bits must be non-negative integers');
  };
  switch (m?.kind) {
    case 'bit-flip':
      checkBits(m.bits);
      return;
    case 'stuck-at':
      if (m.value !== 0 && m.value !== 1) fail('stuck-at model', m, 'value must be 0 or 1');
      checkBits(m.bits);
      if (m.durationNs !== undefined && (!isInt(m.durationNs) || m.durationNs < 1))
        fail('stuck-at model', m, 'durationNs must be a positive integer');
      if (m.periodNs !== undefined && (!isInt(m.periodNs) || m.periodNs < 1))
        fail('stuck-at model', m, 'periodNs must be a positive integer');
      return;
    case 'overwrite': {
      const size = m.size ?? 4;
      if (size !== 1 && size !== 2 && size !== 4) fail('overwrite model', m, 'size must be 1, 2 or 4');
      if (!Array.isArray(m.values) || !m.values.length) fail('overwrite model', m, 'needs at least one value');
      for (const v of m.values)
        if (!isInt(v) || v < 0 || v >= 2 ** (8 * size)) fail('overwrite model', m, `value ${v} does not fit in ${size} bytes`);
      return;
    }
    case 'skip':
      if (m.count !== undefined && (!isInt(m.count) || m.count < 1 || m.count > 64)) fail('skip model', m, 'count must be 1..64');
      return;
    case 'power-loss':
      checkPowerLoss(m);
      return;
    default:
      fail('fault model', m, "kind must be 'bit-flip', 'stuck-at', 'overwrite', 'skip' or 'power-loss'");
  }
}

export function checkMoment(m: MomentSpec): void {
  const checkAt = (at: unknown) => {
    if (!(typeof at === 'string' && at) && !(isInt(at) && at >= 0)) fail('moment', m, '`at` must be a symbol or an address');
  };
  const checkHit = (hit: unknown) => {
    if (hit !== undefined && (!isInt(hit) || hit < 1)) fail('moment', m, 'hit must be a positive integer');
  };
  switch (m?.kind) {
    case 'time':
      // 0 would be "before the first instruction", where no snapshot can precede it.
      if (!isInt(m.ns) || m.ns < 1) fail('time moment', m, 'ns must be a positive integer (guest nanoseconds)');
      return;
    case 'pc':
      checkAt(m.at);
      checkHit(m.hit);
      return;
    case 'access':
      checkAt(m.at);
      checkHit(m.hit);
      if (m.access !== undefined && m.access !== 'read' && m.access !== 'write')
        fail('access moment', m, "access must be 'read' or 'write'");
      if (m.length !== undefined && (!isInt(m.length) || m.length < 1)) fail('access moment', m, 'length must be a positive integer');
      return;
    case 'executed':
      if ('in' in m) {
        if (typeof m.in !== 'string' || !m.in) fail('executed moment', m, '`in` must be a function symbol');
      } else {
        checkAt(m.from);
        checkAt(m.to);
      }
      return;
    case 'accessed': {
      const range = m.in as unknown;
      const region = range as { at?: unknown; length?: unknown };
      const ok =
        (typeof range === 'string' && range) ||
        (range && typeof range === 'object' && isInt(region.at) && region.at >= 0 && isInt(region.length) && region.length >= 1);
      if (!ok) fail('accessed moment', m, '`in` must be a symbol or { at, length } (integers)');
      if (m.access !== undefined && m.access !== 'read' && m.access !== 'write')
        fail('accessed moment', m, "access must be 'read' or 'write'");
      return;
    }
    default:
      fail('moment', m, "kind must be 'time', 'pc', 'access', 'executed' or 'accessed'");
  }
}
