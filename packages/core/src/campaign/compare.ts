/**
 * Comparing a campaign's records with a baseline's (an earlier run, another firmware build): faults
 * are matched by identity — target, model with its parameter, moment, which is what a fault's id
 * spells — never by index, so a space that grew or was reordered still compares fault for fault.
 */
import { CampaignAssertionError } from '../errors.js';
import { OUTCOMES, type Outcome } from './outcome.js';
import type { FaultRecord } from './results-file.js';

/** One fault whose outcome differs from the baseline's. */
export interface OutcomeChange {
  id: string;
  /** The fault's index in the current campaign. */
  index: number;
  before: Outcome;
  after: Outcome;
  /** Whether `after` is a worse class than `before` (see {@link OUTCOMES}: worst first). */
  worse: boolean;
  /** The classifier's reason in the current run. */
  reason: string;
}

/** The records a comparison needs from each side. */
export interface ComparedRecords {
  name: string;
  records: readonly FaultRecord[];
}

const severity = (o: Outcome) => OUTCOMES.indexOf(o);

const line = (c: OutcomeChange) => `  #${c.index} ${c.id}: ${c.before} → ${c.after.toUpperCase()} (${c.reason})`;

/** What changed between a baseline and the current result. */
export class CampaignComparison {
  /** Faults present on both sides with a different outcome, in the current campaign's order. */
  readonly changed: readonly OutcomeChange[];
  /** Faults the baseline does not have (ids). */
  readonly added: readonly string[];
  /** Faults only the baseline has (ids). */
  readonly removed: readonly string[];
  /** Faults present on both sides with the same outcome. */
  readonly unchanged: number;

  constructor(
    readonly current: ComparedRecords,
    readonly baseline: ComparedRecords,
  ) {
    const before = new Map(baseline.records.map((r) => [r.id, r]));
    const ids = new Set(current.records.map((r) => r.id));
    const changed: OutcomeChange[] = [];
    const added: string[] = [];
    let unchanged = 0;
    for (const r of [...current.records].sort((a, b) => a.index - b.index)) {
      const old = before.get(r.id);
      if (!old) added.push(r.id);
      else if (old.outcome === r.outcome) unchanged++;
      else {
        const worse = severity(r.outcome) < severity(old.outcome);
        changed.push({ id: r.id, index: r.index, before: old.outcome, after: r.outcome, worse, reason: r.reason });
      }
    }
    this.changed = changed;
    this.added = added;
    this.removed = baseline.records.filter((r) => !ids.has(r.id)).map((r) => r.id);
    this.unchanged = unchanged;
  }

  /** Faults that got worse; with `outcomes`, only those that are now one of them. */
  worse(outcomes?: Outcome | Outcome[]): OutcomeChange[] {
    const wanted = outcomes === undefined ? undefined : ([] as Outcome[]).concat(outcomes);
    return this.changed.filter((c) => c.worse && (!wanted || wanted.includes(c.after)));
  }

  /** Faults that got better. */
  better(): OutcomeChange[] {
    return this.changed.filter((c) => !c.worse);
  }

  /** Counts and every changed fault, worse ones first. */
  summary(): string {
    const worse = this.worse();
    const better = this.better();
    const lines = [
      `against baseline '${this.baseline.name}': ${worse.length} worse, ${better.length} better, ${this.unchanged} unchanged, ${this.added.length} new, ${this.removed.length} gone`,
    ];
    if (worse.length) lines.push('worse:', ...worse.map(line));
    if (better.length) lines.push('better:', ...better.map(line));
    return lines.join('\n');
  }

  /**
   * Throws a {@link CampaignAssertionError} naming every fault that got worse and is now one of
   * `outcomes` (e.g. a detected fault that became silent once a check was removed).
   */
  assertNoNew(outcomes: Outcome | Outcome[]): void {
    const list = ([] as Outcome[]).concat(outcomes);
    const bad = this.worse(list);
    if (!bad.length) return;
    throw new CampaignAssertionError(
      [
        `${bad.length} faults of campaign '${this.current.name}' became ${list.join(' or ')} against baseline '${this.baseline.name}':`,
        ...bad.map(line),
      ].join('\n'),
    );
  }

  /** Plain JSON, for the JSON report. */
  toJSON(): object {
    return {
      baseline: this.baseline.name,
      unchanged: this.unchanged,
      changed: this.changed,
      added: this.added,
      removed: this.removed,
    };
  }
}
