// Statistical fault injection against the exhaustive run of the same space: every outcome's
// exhaustive rate lies in the sample's Wilson interval, the draw is reproducible, and stopWhen
// ends the campaign at the first check where the interval is narrow enough — a prefix of the
// sample, the same records.
import { CampaignConfigError, runCampaign } from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import guardSample from '../../examples/campaigns/guard-sample.campaign.js';

describe('sampled campaigns', () => {
  it('estimate every outcome rate of the exhaustive run within their intervals', { timeout: 180_000 }, async () => {
    const { sample, stopWhen, ...all } = guardSample;
    const exhaustive = await runCampaign(all, { workers: 2 });
    expect(exhaustive.records).toHaveLength(480);
    expect(exhaustive.sampling).toBeUndefined();
    // The whole space: the rates are exact.
    for (const r of exhaustive.rates()) expect([r.low, r.high]).toEqual([r.rate, r.rate]);

    const sampled = await runCampaign({ ...guardSample, stopWhen: undefined }, { workers: 2 });
    expect(sampled.records).toHaveLength(214);
    expect(sampled.sampling).toEqual({ seed: 7, size: 214, population: 480, confidence: 0.95 });
    const truth = new Map(exhaustive.rates().map((r) => [r.outcome, r.rate]));
    for (const r of sampled.rates()) {
      expect(r.low, r.outcome).toBeLessThanOrEqual(truth.get(r.outcome)!);
      expect(r.high, r.outcome).toBeGreaterThanOrEqual(truth.get(r.outcome)!);
      expect((r.high - r.low) / 2, `${r.outcome}: ±5 % asked`).toBeLessThanOrEqual(0.05 + 1e-9);
    }
    // A sampled fault's record is the exhaustive run's record of it.
    const byIndex = new Map(exhaustive.records.map((r) => [r.index, r]));
    for (const r of sampled.records) expect(r).toEqual(byIndex.get(r.index));
    expect(sampled.summary()).toMatch(/sample of 214 of 480 faults \(seed 7\); rates at 95\.0% confidence \(Wilson\): silent \d+\.\d% \[/);

    const stopped = await runCampaign(guardSample, { workers: 2 });
    expect(stopped.sampling!.stoppedAt).toBe(stopped.records.length);
    expect(stopped.records.length % 25).toBe(0);
    expect(stopped.records.length).toBeLessThan(214);
    expect(stopped.complete).toBe(true);
    const silent = stopped.rates().find((r) => r.outcome === stopWhen!.outcome)!;
    expect((silent.high - silent.low) / 2).toBeLessThanOrEqual(stopWhen!.margin);
    expect(silent.low).toBeLessThanOrEqual(truth.get('silent')!);
    expect(silent.high).toBeGreaterThanOrEqual(truth.get('silent')!);
    // The first faults of the same draw, with the same records.
    const drawn = new Set(sampled.records.map((r) => r.index));
    expect(stopped.records.every((r) => drawn.has(r.index))).toBe(true);
    expect(sample).toEqual({ margin: 0.05, confidence: 0.95, seed: 7 });
  });

  it('refuses stopWhen without a sample', async () => {
    const { sample: _, ...unsampled } = guardSample;
    await expect(runCampaign(unsampled, { workers: 1 })).rejects.toThrow(CampaignConfigError);
    await expect(runCampaign(unsampled, { workers: 1 })).rejects.toThrow(/stopWhen needs a sample/);
  });
});
