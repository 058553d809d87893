// Comparing results with a baseline: faults matched by id whatever their index, worse and better
// told apart, the gate's message naming the faults, baselines read from either file format.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CampaignAssertionError, CampaignResult, type FaultRecord, ResultsFileError, readBaseline } from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { guardFlipRecord } from '../support/fault-records.js';
import { scratchDir } from '../support/scratch.js';

const record = guardFlipRecord;

const result = (name: string, records: FaultRecord[]) => new CampaignResult(name, records.length, [], records);

describe('CampaignResult.compare', () => {
  // The baseline lists the same faults in another order (another index each), one fault fewer and one more.
  const baseline = result('before', [record(0, 3, 'detected'), record(1, 2, 'silent'), record(2, 1, 'masked'), record(3, 9, 'masked')]);
  const now = result('after', [record(0, 1, 'silent'), record(1, 2, 'masked'), record(2, 3, 'hang'), record(3, 4, 'silent')]);
  const comparison = now.compare(baseline);

  it('matches faults by id, not index', () => {
    expect(comparison.changed.map((c) => [c.id, c.before, c.after, c.worse])).toEqual([
      ['guard flip bit 1 @ 5ms', 'masked', 'silent', true],
      ['guard flip bit 2 @ 5ms', 'silent', 'masked', false],
      ['guard flip bit 3 @ 5ms', 'detected', 'hang', true],
    ]);
    expect(comparison.unchanged).toBe(0);
    expect(comparison.added).toEqual(['guard flip bit 4 @ 5ms']);
    expect(comparison.removed).toEqual(['guard flip bit 9 @ 5ms']);
    expect(comparison.worse('silent').map((c) => c.index)).toEqual([0]);
    expect(comparison.better().map((c) => c.index)).toEqual([1]);
  });

  it('fails the gate naming the faults that got worse into the listed outcomes', () => {
    expect(() => comparison.assertNoNew(['crash'])).not.toThrow();
    expect(() => comparison.assertNoNew(['silent', 'hang'])).toThrow(CampaignAssertionError);
    expect(() => comparison.assertNoNew(['silent', 'hang'])).toThrow(
      /2 faults of campaign 'after' became silent or hang against baseline 'before':\n {2}#0 guard flip bit 1 @ 5ms: masked → SILENT[^\n]*\n {2}#2 guard flip bit 3 @ 5ms: detected → HANG/,
    );
    // A result compared with itself has nothing to report.
    expect(now.compare(now).changed).toEqual([]);
    expect(now.compare(now).summary()).toMatch(/0 worse, 0 better, 4 unchanged/);
  });

  it('reads a baseline from a results file or a JSON report, and refuses anything else', async () => {
    const dir = await scratchDir('qf-baseline-');
    const header = {
      type: 'campaign',
      format: 'qemu-fault-campaign/1',
      name: 'before',
      fingerprint: 'f',
      total: 4,
      shard: { index: 0, count: 1 },
    };
    const jsonl = join(dir, 'results.jsonl');
    await writeFile(jsonl, `${[header, ...baseline.records].map((r) => JSON.stringify(r)).join('\n')}\n`);
    const json = join(dir, 'results.json');
    await writeFile(json, JSON.stringify(baseline, null, 1));
    for (const file of [jsonl, json]) {
      const read = await readBaseline(file);
      expect(read.name).toBe('before');
      expect(now.compare(read).changed).toEqual(comparison.changed);
    }
    const other = join(dir, 'other.json');
    await writeFile(other, '{"hello": 1}');
    await expect(readBaseline(other)).rejects.toThrow(ResultsFileError);
    await expect(readBaseline(other)).rejects.toThrow(/neither a campaign results file nor a campaign report/);
    await expect(readBaseline(join(dir, 'missing.jsonl'))).rejects.toThrow(/cannot read the baseline: ENOENT/);
  });
});
