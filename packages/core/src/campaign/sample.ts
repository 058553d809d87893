/**
 * Statistical fault injection: a reproducible random sample of the fault space (a fixed count, or
 * the size a margin and confidence need), run in its drawn order so that every prefix is itself a
 * random sample, and the early stop once an outcome's interval is narrow enough.
 */
import { CampaignConfigError } from '../errors.js';
import type { Fault } from './enumerate.js';
import { OUTCOMES, type Outcome } from './outcome.js';
import type { FaultRecord } from './results-file.js';
import { leveugleSampleSize, outcomeRates } from './stats.js';

/** How many faults to draw: `count`, or as many as `margin` at `confidence` need (Leveugle et al.). */
export type SampleSpec = { count: number; seed?: number; confidence?: number } | { margin: number; confidence?: number; seed?: number };

/** End a sampled campaign early once `outcome`'s interval is at most ±`margin`. */
export interface StopWhen {
  outcome: Outcome;
  margin: number;
}

/** A sample drawn from a space, and what its intervals are computed with. */
export interface Sampling {
  seed: number;
  /** Faults drawn. */
  size: number;
  /** Faults in the space. */
  population: number;
  confidence: number;
  /** Indices of the drawn faults, in the order they run. */
  order: number[];
}

/** The confidence intervals use this unless the sample says otherwise. */
export const DEFAULT_CONFIDENCE = 0.95;
/** A sampled campaign with `stopWhen` checks it after every this many faults, in drawn order (so any worker count stops at the same fault). */
export const STOP_CHECK_EVERY = 25;

/** mulberry32: a small seeded generator, the same numbers on every platform. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Checks a sample spec and draws it from `population` faults (a partial Fisher–Yates shuffle). */
export function drawSample(spec: SampleSpec, population: number): Sampling {
  if (!spec || typeof spec !== 'object') throw new CampaignConfigError('sample must be { count, seed } or { margin, confidence, seed }');
  const seed = spec.seed ?? 0;
  if (!isInt(seed) || seed < 0 || seed > 0xffffffff)
    throw new CampaignConfigError(`sample.seed must be an integer 0..2^32-1, got ${String(seed)}`);
  const confidence = spec.confidence ?? DEFAULT_CONFIDENCE;
  if (!(typeof confidence === 'number' && confidence > 0 && confidence < 1))
    throw new CampaignConfigError(`sample.confidence must be between 0 and 1 (e.g. 0.95), got ${String(confidence)}`);
  let size: number;
  if ('count' in spec) {
    if (!isInt(spec.count) || spec.count < 1)
      throw new CampaignConfigError(`sample.count must be a positive integer, got ${String(spec.count)}`);
    size = Math.min(spec.count, population);
  } else if ('margin' in spec) {
    if (!(typeof spec.margin === 'number' && spec.margin > 0 && spec.margin < 1))
      throw new CampaignConfigError(`sample.margin must be between 0 and 1 (e.g. 0.01 for ±1 %), got ${String(spec.margin)}`);
    size = leveugleSampleSize(population, spec.margin, confidence);
  } else throw new CampaignConfigError(`sample needs a count or a margin, got ${JSON.stringify(spec)}`);
  const random = generator(seed);
  const indices = Array.from({ length: population }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (population - i));
    [indices[i], indices[j]] = [indices[j]!, indices[i]!];
  }
  return { seed, size, population, confidence, order: indices.slice(0, size) };
}

/** Checks `stopWhen` (it needs a sample: stopping early in enumeration order would bias the rates). */
export function checkStopWhen(stop: StopWhen | undefined, sample: SampleSpec | undefined): void {
  if (stop === undefined) return;
  if (!sample)
    throw new CampaignConfigError('stopWhen needs a sample (the faults in random order); add sample: { margin, seed } or { count, seed }');
  if (!OUTCOMES.includes(stop.outcome))
    throw new CampaignConfigError(`stopWhen.outcome must be one of ${OUTCOMES.join(', ')}, got ${String(stop.outcome)}`);
  if (!(typeof stop.margin === 'number' && stop.margin > 0 && stop.margin < 1))
    throw new CampaignConfigError(`stopWhen.margin must be between 0 and 1, got ${String(stop.margin)}`);
}

/** Whether the outcomes so far (a prefix of the drawn order) put `stop.outcome`'s interval within ±`stop.margin`. */
export function stopReached(stop: StopWhen, outcomes: readonly Outcome[], sampling: Sampling): boolean {
  const rate = outcomeRates(outcomes, sampling.confidence, sampling.population).find((r) => r.outcome === stop.outcome)!;
  return (rate.high - rate.low) / 2 <= stop.margin;
}

/**
 * How many faults of the drawn order (a multiple of the check interval, or all) had run when
 * `stop` was first met; undefined if it was not (or the faults before a check have not all run).
 */
export function stoppedAt(
  stop: StopWhen,
  scope: readonly Fault[],
  records: ReadonlyMap<number, FaultRecord>,
  sampling: Sampling,
): number | undefined {
  for (let end = STOP_CHECK_EVERY; end < scope.length + STOP_CHECK_EVERY; end += STOP_CHECK_EVERY) {
    const prefix = scope.slice(0, end).map((f) => records.get(f.index)?.outcome);
    if (prefix.includes(undefined)) return undefined;
    if (stopReached(stop, prefix as Outcome[], sampling)) return Math.min(end, scope.length);
  }
  return undefined;
}

/** What a result says about its sample. */
export interface SamplingInfo {
  seed: number;
  size: number;
  population: number;
  confidence: number;
  stopWhen?: StopWhen;
  /** Faults run when `stopWhen` was met before the sample's end (the campaign ended there). */
  stoppedAt?: number;
}

/** The result's {@link SamplingInfo}. */
export function samplingInfo(
  sampling: Sampling,
  stopWhen: StopWhen | undefined,
  scope: readonly Fault[],
  records: ReadonlyMap<number, FaultRecord>,
): SamplingInfo {
  const { seed, size, population, confidence } = sampling;
  const at = stopWhen ? stoppedAt(stopWhen, scope, records, sampling) : undefined;
  const stopped = at !== undefined && at < scope.length ? at : undefined;
  return {
    seed,
    size,
    population,
    confidence,
    ...(stopWhen ? { stopWhen } : {}),
    ...(stopped !== undefined ? { stoppedAt: stopped } : {}),
  };
}
