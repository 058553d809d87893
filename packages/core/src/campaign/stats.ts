/**
 * The statistics of sampled campaigns: the sample size of Leveugle et al. ("Statistical fault
 * injection: quantified error and confidence", DATE 2009) and Wilson score intervals for the rate
 * of each outcome, both with the finite population correction — a fault space is finite, and a
 * sample of all of it knows every rate exactly.
 */
import { InvalidArgumentError } from '../errors.js';
import { OUTCOMES, type Outcome } from './outcome.js';

/** An outcome's rate in a sample, with its confidence interval. */
export interface OutcomeRate {
  outcome: Outcome;
  /** Faults with this outcome in the sample. */
  count: number;
  /** Faults in the sample. */
  n: number;
  rate: number;
  low: number;
  high: number;
  confidence: number;
}

/** A rate as a percentage with one decimal, e.g. `33.3%`. */
export const formatPercent = (x: number) => `${(100 * x).toFixed(1)}%`;

function checkConfidence(confidence: number): void {
  if (!(typeof confidence === 'number' && confidence > 0 && confidence < 1))
    throw new InvalidArgumentError(`confidence must be between 0 and 1 (e.g. 0.95), got ${String(confidence)}`);
}

/**
 * The standard normal quantile for a two-sided `confidence` (1.959964 for 0.95): Acklam's rational
 * approximation, relative error below 1.2e-9.
 */
export function zScore(confidence: number): number {
  checkConfidence(confidence);
  const p = 1 - (1 - confidence) / 2;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const poly = (k: number[], x: number) => k.reduce((acc, v) => acc * x + v, 0);
  if (p > 0.97575) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

/**
 * Faults to draw from a space of `population` for an error margin `margin` at `confidence`
 * (Leveugle et al. 2009, eq. 5, with the worst case p = 0.5 unless given):
 * n = N / (1 + e²·(N − 1) / (t²·p·(1 − p))).
 */
export function leveugleSampleSize(population: number, margin: number, confidence: number, p = 0.5): number {
  if (!(Number.isSafeInteger(population) && population > 0))
    throw new InvalidArgumentError(`population must be a positive integer, got ${population}`);
  if (!(margin > 0 && margin < 1)) throw new InvalidArgumentError(`margin must be between 0 and 1 (e.g. 0.01), got ${String(margin)}`);
  const t = zScore(confidence);
  return Math.min(population, Math.ceil(population / (1 + (margin * margin * (population - 1)) / (t * t * p * (1 - p)))));
}

/**
 * The Wilson score interval of `count` successes in `n` draws at `confidence`. With `population`
 * (draws without replacement from that many), `n` is replaced by its finite-population
 * equivalent n·(N − 1)/(N − n): the interval narrows as the sample nears the whole space and is
 * the rate itself when it is the whole space.
 */
export function wilsonInterval(count: number, n: number, confidence: number, population?: number): { low: number; high: number } {
  checkConfidence(confidence);
  if (n === 0) return { low: 0, high: 1 };
  const rate = count / n;
  if (population !== undefined && n >= population) return { low: rate, high: rate };
  const effective = population !== undefined && population > 1 ? (n * (population - 1)) / (population - n) : n;
  const z = zScore(confidence);
  const z2 = z * z;
  const denominator = 1 + z2 / effective;
  const centre = (rate + z2 / (2 * effective)) / denominator;
  const half = (z / denominator) * Math.sqrt((rate * (1 - rate)) / effective + z2 / (4 * effective * effective));
  // Exactly 0 and 1 at the ends, where rounding would leave a hair of a rate no fault has.
  return { low: count === 0 ? 0 : Math.max(0, centre - half), high: count === n ? 1 : Math.min(1, centre + half) };
}

/** Each outcome's rate among `outcomes` (a sample of `population` faults), worst outcome first. */
export function outcomeRates(outcomes: readonly Outcome[], confidence: number, population?: number): OutcomeRate[] {
  return OUTCOMES.map((outcome) => {
    const count = outcomes.filter((o) => o === outcome).length;
    const n = outcomes.length;
    return { outcome, count, n, rate: n ? count / n : 0, ...wilsonInterval(count, n, confidence, population), confidence };
  });
}
