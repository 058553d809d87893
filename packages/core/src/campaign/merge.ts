/**
 * Merging the results files of a campaign's shards (a CI matrix, or runs resumed elsewhere) into
 * one result. A fault or golden run recorded twice must be recorded identically: anything else
 * means the runs were not of the same campaign, or not deterministic, and is refused.
 */
import { InvalidArgumentError, ResultsFileError } from '../errors.js';
import { CampaignResult } from './result.js';
import { type FaultRecord, type GoldenRecord, type ResultsFileContent, readResultsFile } from './results-file.js';

/** Merges already-read results files (`paths` name them in errors). */
export function mergeResults(contents: readonly ResultsFileContent[], paths: readonly string[]): CampaignResult {
  const [first] = contents;
  if (!first) throw new InvalidArgumentError('merging needs at least one results file');
  const faults = new Map<number, { record: FaultRecord; from: string }>();
  const golden = new Map<string, { record: GoldenRecord; from: string }>();
  contents.forEach((content, i) => {
    const path = paths[i] ?? `<file ${i + 1}>`;
    const h = content.header;
    if (h.fingerprint !== first.header.fingerprint || h.total !== first.header.total) {
      throw new ResultsFileError(
        path,
        `is from another campaign ('${h.name}', fingerprint ${h.fingerprint}) than ${paths[0]} ('${first.header.name}', ${first.header.fingerprint})`,
      );
    }
    const add = <K, R>(map: Map<K, { record: R; from: string }>, key: K, record: R, what: string) => {
      const seen = map.get(key);
      if (seen && JSON.stringify(seen.record) !== JSON.stringify(record)) {
        throw new ResultsFileError(
          path,
          `${what} differs from ${seen.from}: the two runs disagree (not deterministic, or not the same firmware)`,
        );
      }
      if (!seen) map.set(key, { record, from: path });
    };
    for (const g of content.golden) add(golden, g.moment, g, `the golden run at ${g.moment}`);
    for (const f of content.faults) add(faults, f.index, f, `fault #${f.index} (${f.id})`);
  });
  const records = [...faults.values()].map((f) => f.record);
  // Golden runs in the order their moments first appear among the faults.
  const firstUse = new Map<string, number>();
  for (const r of [...records].sort((a, b) => a.index - b.index)) if (!firstUse.has(r.moment)) firstUse.set(r.moment, r.index);
  const goldens = [...golden.values()]
    .map((g) => g.record)
    .sort((a, b) => (firstUse.get(a.moment) ?? Infinity) - (firstUse.get(b.moment) ?? Infinity));
  return new CampaignResult(first.header.name, first.header.total, goldens, records, first.header.fingerprint);
}

/**
 * Reads the results files of a campaign's shards and merges them into one result (its `complete`
 * says whether every fault of the campaign is in). Throws a `ResultsFileError` when the files are
 * not of the same campaign or disagree.
 */
export async function mergeCampaignResults(files: readonly string[]): Promise<CampaignResult> {
  if (!files.length) throw new InvalidArgumentError('mergeCampaignResults needs at least one results file');
  return mergeResults(await Promise.all(files.map((file) => readResultsFile(file))), files);
}
