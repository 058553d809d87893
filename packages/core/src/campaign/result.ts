/**
 * A campaign's result: every fault record, sorted by index, with counts, a text summary and
 * assertions that fail with a readable message naming the worst faults.
 */
import { CampaignAssertionError } from '../errors.js';
import { shellQuote } from '../shell-quote.js';
import { REPORT_FORMAT } from './baseline.js';
import { CampaignComparison, type ComparedRecords } from './compare.js';
import { OUTCOMES, type Outcome } from './outcome.js';
import type { FaultRecord, GoldenRecord } from './results-file.js';
import { DEFAULT_CONFIDENCE, type SamplingInfo } from './sample.js';
import { type SourceLines, sourceLines } from './source-lines.js';
import { formatPercent, type OutcomeRate, outcomeRates } from './stats.js';

/** Selects records: strings match exactly, RegExps anywhere. */
export interface RecordFilter {
  target?: string | RegExp;
  action?: string | RegExp;
  moment?: string | RegExp;
  outcome?: Outcome | Outcome[];
}

const matches = (value: string, want: string | RegExp | undefined) =>
  want === undefined || (typeof want === 'string' ? value === want : new RegExp(want.source, want.flags.replace('g', '')).test(value));

/** Whether `record` passes `filter`. */
export function recordMatches(record: FaultRecord, filter: RecordFilter = {}): boolean {
  const outcomes = filter.outcome === undefined ? undefined : ([] as Outcome[]).concat(filter.outcome);
  return (
    matches(record.target, filter.target) &&
    matches(record.action, filter.action) &&
    matches(record.moment, filter.moment) &&
    (!outcomes || outcomes.includes(record.outcome))
  );
}

const severity = (o: Outcome) => OUTCOMES.indexOf(o);

function describeFilter(filter: RecordFilter): string {
  const parts = Object.entries(filter)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v instanceof RegExp ? String(v) : JSON.stringify(v)}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** A sample's size and every outcome's rate with its interval, on one line. */
function describeSample(sampling: SamplingInfo, rates: readonly OutcomeRate[]): string {
  const stopped =
    sampling.stoppedAt !== undefined
      ? `, stopped at ${sampling.stoppedAt} (${sampling.stopWhen!.outcome} within ±${formatPercent(sampling.stopWhen!.margin)})`
      : '';
  const each = rates.map((r) => `${r.outcome} ${formatPercent(r.rate)} [${formatPercent(r.low)}, ${formatPercent(r.high)}]`).join(', ');
  return `sample of ${sampling.size} of ${sampling.population} faults (seed ${sampling.seed}${stopped}); rates at ${formatPercent(sampling.confidence)} confidence (Wilson): ${each}`;
}

/** The outcome of a campaign (or of the shards merged so far). */
export class CampaignResult {
  /** Fault records sorted by index. */
  readonly records: readonly FaultRecord[];
  /** The sample this result is of (a campaign with `sample`), for {@link rates}. */
  sampling: SamplingInfo | undefined;
  /** The firmware the campaign ran (`runCampaign` sets it), for {@link sourceLines}. */
  kernel: { path: string; machine: string } | undefined;
  /** The config file the campaign was run from, for {@link reproduceCommand} (`runCampaign`'s `configFile`). */
  configFile: string | undefined;

  constructor(
    readonly name: string,
    /** Faults in the whole campaign. */
    readonly total: number,
    /** The golden runs: one for the campaign, or one per plan with a budget (see `GoldenRecord`). */
    readonly golden: readonly GoldenRecord[],
    records: readonly FaultRecord[],
    readonly fingerprint = '',
    /** Faults this result is meant to cover: the campaign, or one shard of it. */
    readonly expected = total,
  ) {
    this.records = [...records].sort((a, b) => a.index - b.index);
  }

  /** Whether every fault this result covers (the campaign, or the shard run) has a record, or its `stopWhen` was met. */
  get complete(): boolean {
    return this.records.length >= this.expected || this.sampling?.stoppedAt !== undefined;
  }

  /**
   * Each outcome's rate with its Wilson interval at the sample's confidence (default 0.95). Over
   * the whole result of a sample the interval is corrected for the finite space (a sample of all
   * of it is exact); a filter's share of the space is unknown, so filtered intervals are not.
   */
  rates(filter?: RecordFilter): OutcomeRate[] {
    const population = filter === undefined ? (this.sampling?.population ?? this.records.length) : undefined;
    return outcomeRates(
      this.select(filter).map((r) => r.outcome),
      this.sampling?.confidence ?? DEFAULT_CONFIDENCE,
      population,
    );
  }

  /**
   * The command line that replays fault `id` from a fresh boot and prints its trace (add `--gdb` to
   * stop right after the injection with a debugger attached).
   */
  reproduceCommand(id: string): string {
    return `qemu-fault campaign ${shellQuote(this.configFile ?? '<config>')} --reproduce ${shellQuote(id)}`;
  }

  /**
   * Function and `file:line` of every pc the records carry (the moment's, the end's), from the
   * kernel's DWARF line table through the toolchain's `addr2line`; `missing` says why there are
   * none (no kernel known, no `addr2line` for its architecture).
   */
  async sourceLines(): Promise<SourceLines> {
    if (!this.kernel)
      return {
        missing: 'the result does not name its kernel (a merged result: set result.kernel to { path, machine })',
        locations: new Map(),
      };
    const pcs = this.records.flatMap((r) => [r.pc, r.endPc].filter((pc): pc is number => pc !== undefined));
    return sourceLines(this.kernel, pcs);
  }

  /** Records passing `filter`. */
  select(filter: RecordFilter = {}): FaultRecord[] {
    return this.records.filter((r) => recordMatches(r, filter));
  }

  /** How many records have each outcome. */
  counts(filter: RecordFilter = {}): Record<Outcome, number> {
    const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
    for (const r of this.select(filter)) counts[r.outcome]++;
    return counts;
  }

  /** The worst records first (silent, hang, crash, detected, masked; then by index). */
  worst(limit = 10, filter: RecordFilter = {}): FaultRecord[] {
    return this.select(filter)
      .sort((a, b) => severity(a.outcome) - severity(b.outcome) || a.index - b.index)
      .slice(0, limit);
  }

  /** A text table of outcomes per target, and the worst faults. */
  summary(options: { filter?: RecordFilter; worst?: number } = {}): string {
    const records = this.select(options.filter);
    const targets = [...new Set(records.map((r) => r.target))];
    const width = Math.max(6, ...targets.map((t) => t.length));
    const row = (label: string, counts: Record<Outcome, number>, n: number) =>
      `  ${label.padEnd(width)} ${OUTCOMES.map((o) => String(counts[o]).padStart(o.length)).join('  ')}  ${String(n).padStart(5)}`;
    const lines = [
      `campaign '${this.name}': ${this.records.length}/${this.expected} faults run${this.expected < this.total ? ` (of ${this.total})` : ''}${describeFilter(options.filter ?? {})}`,
      `  ${'target'.padEnd(width)} ${OUTCOMES.join('  ')}  total`,
      ...targets.map((t) => row(t, this.counts({ ...options.filter, target: t }), records.filter((r) => r.target === t).length)),
    ];
    if (targets.length > 1) lines.push(row('all', this.counts(options.filter), records.length));
    if (this.sampling && !options.filter) lines.push(describeSample(this.sampling, this.rates()));
    const worst = this.worst(options.worst ?? 5, options.filter).filter((r) => r.outcome !== 'masked' && r.outcome !== 'detected');
    if (worst.length) {
      lines.push('worst faults:');
      for (const r of worst) lines.push(`  #${r.index} ${r.outcome.toUpperCase()} ${r.id}: ${r.reason}`);
    }
    return lines.join('\n');
  }

  /**
   * Throws a {@link CampaignAssertionError} if any record passing `filter` has one of `outcomes`;
   * the message names the offending faults (up to 10) and ends with the summary.
   */
  assertNo(outcomes: Outcome | Outcome[], filter: RecordFilter = {}): void {
    const bad = ([] as Outcome[]).concat(outcomes);
    const offending = this.worst(Number.MAX_SAFE_INTEGER, { ...filter, outcome: bad });
    if (!offending.length) return;
    const considered = this.select(filter).length;
    const shown = offending.slice(0, 10).map((r) => `  #${r.index} ${r.outcome.toUpperCase()} ${r.id}: ${r.reason}`);
    if (offending.length > 10) shown.push(`  ... and ${offending.length - 10} more`);
    throw new CampaignAssertionError(
      [
        `${offending.length} of ${considered} faults${describeFilter(filter)} in campaign '${this.name}' were ${bad.join(' or ')}:`,
        ...shown,
        '',
        this.summary({ filter, worst: 0 }),
      ].join('\n'),
    );
  }

  /** {@link assertNo} for `silent`: no fault went unnoticed with a changed result. */
  assertNoSilent(filter: RecordFilter = {}): void {
    this.assertNo('silent', filter);
  }

  /**
   * What changed against `baseline` (an earlier result, or one read with `readBaseline()`): faults
   * matched by id (target, model and parameter, moment), not by index.
   */
  compare(baseline: ComparedRecords): CampaignComparison {
    return new CampaignComparison(this, baseline);
  }

  /** The whole result as plain JSON (what the JSON report holds). */
  toJSON(): object {
    return {
      format: REPORT_FORMAT,
      name: this.name,
      fingerprint: this.fingerprint,
      total: this.total,
      expected: this.expected,
      complete: this.complete,
      counts: this.counts(),
      ...(this.sampling ? { sampling: this.sampling, rates: this.rates() } : {}),
      golden: this.golden,
      records: this.records,
    };
  }
}
