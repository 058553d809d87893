/**
 * The results file: JSON Lines, one record per line — a header naming the campaign (and shard), the
 * golden runs, and one record per fault as it completes. Every record is fsync'd
 * before it counts, so a campaign killed at any point loses at most the runs in flight; a torn last
 * line (a kill mid-write) is dropped on resume.
 */
import { type FileHandle, mkdir, open, readFile, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ResultsFileError } from '../errors.js';
import type { FaultAction, ResolvedMoment, ResolvedTarget, Shard } from './enumerate.js';
import type { InjectionEffect } from './inject.js';
import type { Evidence, Outcome } from './outcome.js';
import type { SecondFault } from './pairs.js';

/** The format this module writes and reads. */
export const RESULTS_FORMAT = 'qemu-fault-campaign/1';

/** First line: which campaign (fingerprint) and which part of it. */
export interface CampaignHeader {
  type: 'campaign';
  format: typeof RESULTS_FORMAT;
  name: string;
  fingerprint: string;
  /** Faults in the whole campaign (all shards). */
  total: number;
  shard: Shard;
}

/**
 * A golden (fault-free) run: what fault runs are compared with. Without a budget, one for the whole
 * campaign (`moment: 'run'`, the golden pass); with one, one per plan (a moment given by hand, or a
 * cluster of trace moments: `moment` names it).
 */
export interface GoldenRecord {
  type: 'golden';
  moment: string;
  /** Guest time of its (first) moment's freeze: exact at time moments, as the golden pass saw it at pc and data ones; 0 for the whole run. */
  momentNs: number;
  /** Guest time its runs are cut at (the whole run: where the golden pass ended). */
  endNs: number;
  evidence: Evidence;
}

/** One fault run. */
export interface FaultRecord {
  type: 'fault';
  index: number;
  id: string;
  target: string;
  action: string;
  moment: string;
  fault: { target: ResolvedTarget; action: FaultAction; moment: ResolvedMoment; second?: SecondFault };
  /** A double fault: whether its second fault was injected (its moment came within the window). */
  secondInjected?: boolean;
  outcome: Outcome;
  /** Why the classifier said so. */
  reason: string;
  /** The pc at the moment (at an access moment: of the instruction that made the access). */
  pc?: number;
  /** The pc the run ended at, where it was held (a trap reached, the end of the budget). */
  endPc?: number;
  /** Guest time when the run ended (absent when no exact time exists). */
  timeNs?: number;
  /**
   * The proof of injection: whether the moment came in this run (else the outcome is
   * `not-injected`) and what the fault changed (old and new value, or the skipped instructions);
   * the pc it came at is the record's `pc`. The moment itself (`fault.moment`) carries its pc, hit
   * and instruction bytes.
   */
  injection?: { reached: boolean; effect?: InjectionEffect };
  evidence: Evidence;
}

export type ResultsLine = CampaignHeader | GoldenRecord | FaultRecord;

/** What a results file holds. */
export interface ResultsFileContent {
  header: CampaignHeader;
  golden: GoldenRecord[];
  faults: FaultRecord[];
  /** Byte length of the intact part (a torn last line excluded). */
  intactBytes: number;
}

/** Reads and checks a results file. A torn last line is ignored (and reported by `intactBytes`). */
export async function readResultsFile(path: string): Promise<ResultsFileContent> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ResultsFileError(path, `cannot read it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parseResults(text, path);
}

/** Parses results-file text (see {@link readResultsFile}). */
export function parseResults(text: string, path = '<results>'): ResultsFileContent {
  const lines = text.split('\n');
  // Only the last line may be torn (no newline after it); everything before a newline was fsync'd whole.
  const complete = lines.slice(0, -1);
  const tail = lines.at(-1) ?? '';
  const intactBytes = Buffer.byteLength(text) - Buffer.byteLength(tail);
  let header: CampaignHeader | undefined;
  const golden: GoldenRecord[] = [];
  const faults: FaultRecord[] = [];
  complete.forEach((line, i) => {
    if (!line.trim()) return;
    let record: ResultsLine;
    try {
      record = JSON.parse(line) as ResultsLine;
    } catch {
      throw new ResultsFileError(path, `line ${i + 1} is not JSON (the file is corrupt): ${line.slice(0, 80)}`);
    }
    if (i === 0) {
      if (record.type !== 'campaign' || record.format !== RESULTS_FORMAT) {
        throw new ResultsFileError(path, `is not a qemu-fault campaign results file (first line: ${line.slice(0, 80)})`);
      }
      header = record;
    } else if (record.type === 'golden') golden.push(record);
    else if (record.type === 'fault' && Number.isSafeInteger(record.index)) faults.push(record);
    else throw new ResultsFileError(path, `line ${i + 1} is not a campaign record: ${line.slice(0, 80)}`);
  });
  if (!header) throw new ResultsFileError(path, 'is empty or has no complete header line');
  return { header, golden, faults, intactBytes };
}

async function openFile(path: string, flags: 'a' | 'w'): Promise<FileHandle> {
  try {
    await mkdir(dirname(path), { recursive: true });
    return await open(path, flags);
  } catch (err) {
    throw new ResultsFileError(path, `cannot open it for writing: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Appends records with group commit: lines that arrive while an fsync runs are written and synced
 * together by the next one, so each {@link append} resolves once its line is on disk without one
 * fsync per line holding the workers up.
 */
export class ResultsWriter {
  private queue: string[] = [];
  private flushing: Promise<void> | undefined;
  private waiting: Array<{ resolve(): void; reject(err: unknown): void }> = [];
  private failed: unknown;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  /**
   * Opens `path` for a campaign: continues it when it holds the same campaign and shard (returning
   * what it already has), otherwise refuses — unless `fresh`, which starts it over.
   */
  static async open(
    path: string,
    header: CampaignHeader,
    options: { fresh?: boolean } = {},
  ): Promise<{ writer: ResultsWriter; existing?: ResultsFileContent }> {
    let existing: ResultsFileContent | undefined;
    if (!options.fresh) {
      const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw new ResultsFileError(path, `cannot read it: ${err.code ?? String(err)}`, { cause: err });
      });
      if (text) existing = parseResults(text, path);
    }
    if (existing) {
      const h = existing.header;
      if (h.fingerprint !== header.fingerprint || h.total !== header.total) {
        throw new ResultsFileError(
          path,
          `belongs to another campaign or version of it ('${h.name}', ${h.total} faults, fingerprint ${h.fingerprint}; this one: '${header.name}', ${header.total} faults, ${header.fingerprint}). Delete it, choose another file, or start over (fresh).`,
        );
      }
      if (h.shard.index !== header.shard.index || h.shard.count !== header.shard.count) {
        throw new ResultsFileError(
          path,
          `holds shard ${h.shard.index + 1}/${h.shard.count}, not ${header.shard.index + 1}/${header.shard.count}`,
        );
      }
      // Drop a torn last line so appends start on a line boundary.
      await truncate(path, existing.intactBytes);
      return { writer: new ResultsWriter(await openFile(path, 'a'), path), existing };
    }
    const writer = new ResultsWriter(await openFile(path, 'w'), path);
    await writer.append(header);
    return { writer };
  }

  /** Appends one record; resolves once it is on disk. */
  append(record: ResultsLine): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    this.queue.push(`${JSON.stringify(record)}\n`);
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.flushing ??= this.flush();
    return done;
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      const lines = this.queue.splice(0);
      const waiters = this.waiting.splice(0);
      try {
        await this.handle.appendFile(lines.join(''));
        await this.handle.datasync();
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.failed = new ResultsFileError(this.path, `cannot append results: ${(err as Error).message}`, { cause: err });
        for (const w of [...waiters, ...this.waiting.splice(0)]) w.reject(this.failed);
        this.queue = [];
      }
    }
    this.flushing = undefined;
  }

  /** Waits for pending appends and closes the file. */
  async close(): Promise<void> {
    await this.flushing;
    await this.handle.close();
  }
}
