import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CampaignHeader,
  type FaultRecord,
  type GoldenRecord,
  mergeCampaignResults,
  ResultsFileError,
  readResultsFile,
} from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { parseResults, ResultsWriter } from '../../packages/core/src/campaign/results-file.js';
import { guardFlipRecord } from '../support/fault-records.js';
import { scratchDir } from '../support/scratch.js';

function header(shard = { index: 0, count: 1 }, fingerprint = 'f00d'): CampaignHeader {
  return { type: 'campaign', format: 'qemu-fault-campaign/1', name: 'unit', fingerprint, total: 4, shard };
}

function record(index: number, outcome: FaultRecord['outcome'] = 'masked'): FaultRecord {
  return guardFlipRecord(index, index, outcome, {
    reason: outcome === 'masked' ? 'same result as the golden run' : 'result differs',
    timeNs: 6_000_800,
    evidence: { end: 'budget', timeNs: 6_000_800, memory: { result: '01020304' } },
  });
}

const golden: GoldenRecord = {
  type: 'golden',
  moment: '5ms',
  momentNs: 6_000_800,
  endNs: 7_000_800,
  evidence: { end: 'budget', memory: { result: '01020304' } },
};
const lines = (...records: object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

describe('results file parsing', () => {
  it('reads the header, golden runs and fault records', () => {
    const content = parseResults(lines(header(), golden, record(0), record(1, 'silent')));
    expect(content.header.name).toBe('unit');
    expect(content.golden).toEqual([golden]);
    expect(content.faults.map((f) => [f.index, f.outcome])).toEqual([
      [0, 'masked'],
      [1, 'silent'],
    ]);
  });

  it('ignores a torn last line and says where the intact part ends', () => {
    const intact = lines(header(), record(0));
    const content = parseResults(`${intact}{"type":"fault","index":1,"id":"gua`);
    expect(content.faults).toHaveLength(1);
    expect(content.intactBytes).toBe(Buffer.byteLength(intact));
  });

  it('rejects corrupt lines in the middle, and files that are not results files', () => {
    expect(() => parseResults(`${lines(header())}not json\n${lines(record(0))}`, 'r.jsonl')).toThrow(/r.jsonl: line 2 is not JSON/);
    expect(() => parseResults(lines({ hello: 1 }))).toThrow(ResultsFileError);
    expect(() => parseResults('')).toThrow(/no complete header/);
    expect(() => parseResults(`${lines(header())}${JSON.stringify({ type: 'other' })}\n`)).toThrow(/line 2 is not a campaign record/);
  });
});

describe('results writer: append, resume', () => {
  it('starts a file with its header and appends records, each on disk when append resolves', async () => {
    const path = join(await scratchDir('qf-results-'), 'sub', 'r.jsonl');
    const { writer, existing } = await ResultsWriter.open(path, header());
    expect(existing).toBeUndefined();
    await Promise.all([writer.append(golden), writer.append(record(0)), writer.append(record(1))]);
    await writer.close();
    const content = await readResultsFile(path);
    expect(content.faults.map((f) => f.index).sort()).toEqual([0, 1]);
  });

  it('resumes a matching file, dropping a torn last line before appending', async () => {
    const path = join(await scratchDir('qf-results-'), 'r.jsonl');
    await writeFile(path, `${lines(header(), golden, record(0))}{"type":"fault","ind`);
    const { writer, existing } = await ResultsWriter.open(path, header());
    expect(existing?.faults.map((f) => f.index)).toEqual([0]);
    await writer.append(record(1));
    await writer.close();
    const text = await readFile(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect((await readResultsFile(path)).faults.map((f) => f.index)).toEqual([0, 1]);
  });

  it('refuses a file of another campaign or shard, and starts over when asked', async () => {
    const path = join(await scratchDir('qf-results-'), 'r.jsonl');
    await writeFile(path, lines(header(), record(0)));
    await expect(ResultsWriter.open(path, header(undefined, 'beef'))).rejects.toThrow(/belongs to another campaign/);
    await expect(ResultsWriter.open(path, header({ index: 1, count: 2 }))).rejects.toThrow(/holds shard 1\/1, not 2\/2/);
    const { writer, existing } = await ResultsWriter.open(path, header(undefined, 'beef'), { fresh: true });
    await writer.close();
    expect(existing).toBeUndefined();
    expect((await readResultsFile(path)).header.fingerprint).toBe('beef');
  });
});

describe('merging shards', () => {
  it('merges shards into one result with every fault once', async () => {
    const dir = await scratchDir('qf-merge-');
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    await writeFile(a, lines(header({ index: 0, count: 2 }), golden, record(0), record(1, 'silent')));
    await writeFile(b, lines(header({ index: 1, count: 2 }), golden, record(3), record(2)));
    const merged = await mergeCampaignResults([a, b]);
    expect(merged.complete).toBe(true);
    expect(merged.records.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect(merged.golden).toEqual([golden]);
    expect(merged.counts()).toMatchObject({ silent: 1, masked: 3 });
  });

  it('says a merge is incomplete while shards are missing', async () => {
    const a = join(await scratchDir('qf-merge-'), 'a.jsonl');
    await writeFile(a, lines(header({ index: 0, count: 2 }), golden, record(0)));
    const merged = await mergeCampaignResults([a]);
    expect(merged.complete).toBe(false);
    expect(merged.summary()).toContain('1/4 faults run');
  });

  it('refuses shards of different campaigns, and shards that disagree', async () => {
    const dir = await scratchDir('qf-merge-');
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    await writeFile(a, lines(header(), golden, record(0)));
    await writeFile(b, lines(header(undefined, 'beef'), golden, record(1)));
    await expect(mergeCampaignResults([a, b])).rejects.toThrow(/is from another campaign/);
    await writeFile(b, lines(header(), golden, record(0, 'silent')));
    await expect(mergeCampaignResults([a, b])).rejects.toThrow(/fault #0 .* differs from .*a\.jsonl/);
    await expect(mergeCampaignResults([])).rejects.toThrow(/at least one/);
  });
});
