// The statistics of sampled campaigns against published values: normal quantiles, Leveugle et
// al.'s sample sizes, Wilson intervals (with the finite population correction), and the draw.
import { CampaignConfigError, drawSample, leveugleSampleSize, outcomeRates, wilsonInterval, zScore } from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';

describe('sampling statistics', () => {
  it('has the normal quantiles of the usual confidences', () => {
    expect(zScore(0.95)).toBeCloseTo(1.959964, 6);
    expect(zScore(0.99)).toBeCloseTo(2.575829, 6);
    expect(zScore(0.9)).toBeCloseTo(1.644854, 6);
    expect(zScore(0.999)).toBeCloseTo(3.290527, 5);
    expect(() => zScore(1)).toThrow(/confidence must be between 0 and 1/);
  });

  it('sizes samples as Leveugle et al. do', () => {
    // An (all but) infinite space at ±1 %, 95 %: the textbook 9604; a finite one needs fewer.
    expect(leveugleSampleSize(1_000_000_000, 0.01, 0.95)).toBe(9604);
    expect(leveugleSampleSize(480, 0.05, 0.95)).toBe(214);
    expect(leveugleSampleSize(480, 0.1, 0.95)).toBe(81);
    expect(leveugleSampleSize(10, 0.001, 0.99)).toBe(10);
  });

  it('gives Wilson intervals, narrowed by the finite space down to the rate itself', () => {
    const a = wilsonInterval(5, 10, 0.95);
    expect(a.low).toBeCloseTo(0.2366, 4);
    expect(a.high).toBeCloseTo(0.7634, 4);
    const zero = wilsonInterval(0, 10, 0.95);
    expect(zero.low).toBe(0);
    expect(zero.high).toBeCloseTo(0.2775, 4);
    const finite = wilsonInterval(5, 10, 0.95, 20);
    expect(finite.high - finite.low).toBeLessThan(a.high - a.low);
    expect(wilsonInterval(3, 20, 0.95, 20)).toEqual({ low: 0.15, high: 0.15 });
    expect(wilsonInterval(0, 0, 0.95)).toEqual({ low: 0, high: 1 });
    const rates = outcomeRates(['silent', 'masked', 'masked', 'masked'], 0.9);
    expect(rates.map((r) => [r.outcome, r.count, r.rate])).toEqual([
      ['silent', 1, 0.25],
      ['hang', 0, 0],
      ['crash', 0, 0],
      ['detected', 0, 0],
      ['masked', 3, 0.75],
      ['not-injected', 0, 0],
    ]);
  });

  it('draws the same sample for the same seed, another for another, without repeats', () => {
    const a = drawSample({ count: 50, seed: 3 }, 1000);
    expect(drawSample({ count: 50, seed: 3 }, 1000).order).toEqual(a.order);
    expect(drawSample({ count: 50, seed: 4 }, 1000).order).not.toEqual(a.order);
    expect(new Set(a.order).size).toBe(50);
    expect(a.order.every((i) => i >= 0 && i < 1000)).toBe(true);
    expect(drawSample({ margin: 0.05, seed: 1 }, 480)).toMatchObject({ size: 214, population: 480, confidence: 0.95, seed: 1 });
    expect(drawSample({ count: 5000 }, 10).order.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => drawSample({ count: 0 }, 10)).toThrow(CampaignConfigError);
    expect(() => drawSample({ margin: 2 }, 10)).toThrow(/sample.margin must be between 0 and 1/);
    expect(() => drawSample({ count: 3, seed: -1 }, 10)).toThrow(/sample.seed/);
  });
});
