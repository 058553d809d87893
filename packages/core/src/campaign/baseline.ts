/**
 * Reading a baseline for {@link CampaignComparison}: a results file (JSON Lines, as a campaign
 * writes it) or a JSON report (`results.json`), whichever the path holds.
 */
import { readFile } from 'node:fs/promises';
import { ResultsFileError } from '../errors.js';
import type { ComparedRecords } from './compare.js';
import { type FaultRecord, parseResults } from './results-file.js';

/** The JSON report's format tag (see `CampaignResult.toJSON`). */
export const REPORT_FORMAT = 'qemu-fault-campaign-report/1';

/** Reads the fault records of a baseline: a `results.jsonl` or a `results.json`. */
export async function readBaseline(path: string): Promise<ComparedRecords> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ResultsFileError(path, `cannot read the baseline: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  // A JSON report is one document; a results file is one record per line, a header first.
  let report: { format?: unknown; name?: unknown; records?: unknown } | undefined;
  try {
    report = JSON.parse(text) as typeof report;
  } catch {
    report = undefined;
  }
  if (report && typeof report === 'object' && report.format === REPORT_FORMAT) {
    if (!Array.isArray(report.records) || typeof report.name !== 'string')
      throw new ResultsFileError(path, 'is a campaign report without its name or records');
    return { name: report.name, records: report.records as FaultRecord[] };
  }
  if (report !== undefined && !(report && typeof report === 'object' && 'type' in report)) {
    throw new ResultsFileError(path, `is neither a campaign results file nor a campaign report (${REPORT_FORMAT})`);
  }
  const content = parseResults(text, path);
  return { name: content.header.name, records: content.faults };
}
