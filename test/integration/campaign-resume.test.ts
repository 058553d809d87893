// Campaigns interrupted and resumed, and split into shards that merge back.
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  atTime,
  bitFlip,
  type CampaignProgress,
  faultSpace,
  mergeCampaignResults,
  readResultsFile,
  runCampaign,
  symbol,
} from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { exampleCampaign, expectNothingLeft } from '../support/campaigns.js';
import { scratchDir } from '../support/scratch.js';

/** 48 faults of 1 ms each: guard (detected) and calib_offset (silent) bits at two moments. */
const definition = exampleCampaign({
  space: faultSpace({
    targets: [symbol('guard'), symbol('calib_offset')],
    models: [bitFlip({ bits: [0, 1, 2, 3, 8, 9, 10, 11, 20, 21, 30, 31] })],
    moments: [atTime(5_000_000), atTime(9_000_000)],
  }),
  budgetNs: 1_000_000,
});

describe('resuming', () => {
  it('an interrupted campaign resumes from its results file, torn last line and all, and ends as an uninterrupted one', {
    timeout: 60_000,
  }, async () => {
    const dir = await scratchDir('qf-resume-');
    const resultsFile = join(dir, 'results.jsonl');
    const abort = new AbortController();
    const partial = await runCampaign(definition, {
      workers: 2,
      resultsFile,
      signal: abort.signal,
      onProgress: (p) => p.done >= 10 && abort.abort(),
    });
    expect(partial.complete).toBe(false);
    const onDisk = await readResultsFile(resultsFile);
    // Nothing in flight is lost: what the result holds is what the file holds.
    expect(onDisk.faults.map((r) => r.index).sort((a, b) => a - b)).toEqual(partial.records.map((r) => r.index));
    expect(onDisk.faults.length).toBeGreaterThanOrEqual(10);
    expect(onDisk.faults.length).toBeLessThan(48);
    // A kill in the middle of a write leaves half a line.
    await appendFile(resultsFile, '{"type":"fault","index":47,"id":"calib_off');

    const progress: CampaignProgress[] = [];
    const resumed = await runCampaign(definition, { workers: 2, resultsFile, onProgress: (p) => progress.push(p) });
    expect(resumed.complete).toBe(true);
    expect(progress[0]!.resumed).toBe(onDisk.faults.length);
    expect(progress).toHaveLength(48 - onDisk.faults.length); // only the rest ran
    const text = await readFile(resultsFile, 'utf8');
    expect(text.split('\n').filter((line) => line.includes('"type":"fault"'))).toHaveLength(48);

    const uninterrupted = await runCampaign(definition, { workers: 2 });
    expect(resumed.records).toEqual(uninterrupted.records);
    await expectNothingLeft(definition);
  });
});

describe('sharding', () => {
  it('splits the fault space deterministically, and the shards merge into the full result', { timeout: 60_000 }, async () => {
    const dir = await scratchDir('qf-shards-');
    const files = [join(dir, 'shard1.jsonl'), join(dir, 'shard2.jsonl'), join(dir, 'shard3.jsonl')];
    const shards = [];
    for (const [index, resultsFile] of files.entries()) {
      shards.push(await runCampaign(definition, { workers: 2, resultsFile, shard: { index, count: 3 } }));
    }
    expect(shards.map((s) => s.records.length)).toEqual([16, 16, 16]);
    expect(shards.every((s) => s.complete)).toBe(true);
    const indices = shards.flatMap((s) => s.records.map((r) => r.index));
    expect(new Set(indices).size).toBe(48);

    const merged = await mergeCampaignResults(files);
    expect(merged.complete).toBe(true);
    const whole = await runCampaign(definition, { workers: 2 });
    expect(merged.records).toEqual(whole.records);
    expect(merged.golden).toEqual(whole.golden);
    expect(merged.counts()).toEqual({ silent: 24, hang: 0, crash: 0, detected: 24, masked: 0, 'not-injected': 0 });
    await expectNothingLeft(definition);
  });
});
