/**
 * Outcomes, the evidence a run leaves, and the default classifier that compares a fault run's
 * evidence with the golden run's.
 */
import { CampaignConfigError } from '../errors.js';
import type { Fault } from './enumerate.js';

/**
 * What a fault did, from the firmware's point of view; `not-injected` when its moment never came in
 * the faulty run (so it did nothing, and is no proof of anything: never counted as masked).
 */
export type Outcome = 'masked' | 'detected' | 'silent' | 'crash' | 'hang' | 'not-injected';

/** Every outcome, worst first: the order reports and summaries use (`not-injected` apart, last). */
export const OUTCOMES: readonly Outcome[] = ['silent', 'hang', 'crash', 'detected', 'masked', 'not-injected'];

/** How a run ended. */
export type RunEnd =
  /** The firmware exited (semihosting), with `exitCode`. */
  | 'exit'
  /** The guest-time budget ran out: the guest was frozen at the end of the window. */
  | 'budget'
  /** Execution reached a detection or crash trap (`trap` names it). */
  | 'trap'
  /** QEMU died without a guest exit (a signal, an abort, a fatal error). */
  | 'qemu-died'
  /** The wall-clock limit of a run passed first. */
  | 'timeout';

/** What a run (golden or fault) left behind: the basis of classification. Plain JSON. */
export interface Evidence {
  end: RunEnd;
  /** Guest time when the run ended, in ns (absent where no exact time exists, e.g. after QEMU died). */
  timeNs?: number;
  /** Guest time of the injection freeze, in ns (absent for inexact freezes and the golden run). */
  injectedAtNs?: number;
  exitCode?: number;
  /** The trap reached (its symbol or address), for `end: 'trap'`. */
  trap?: string;
  /** Serial output from boot to the end of the run (a run from a snapshot: what came before it, then its own). */
  serial?: string;
  /** Observed memory at the end, by name: bytes in address order as hex. */
  memory?: Record<string, string>;
  /** Why QEMU failed (signal, stderr tail). */
  error?: string;
}

/** A verdict with its reason, e.g. `{ outcome: 'silent', reason: 'result = 0x66a0a88d (golden 0x8d6a7738)' }`. */
export interface Verdict {
  outcome: Outcome;
  reason: string;
}

/** A memory condition the firmware uses to signal something (a GPIO data register, a status word). */
export interface MemorySignal {
  /** Symbol or address (read with the system address space: MMIO works). */
  at: string | number;
  /** Bytes, little-endian (default 4). */
  size?: 1 | 2 | 4;
  /** The signal is on when the value equals this... */
  equals?: number;
  /** ...or differs from this. */
  notEquals?: number;
}

/** Ways the firmware shows something happened. Any one that matches counts. */
export interface Signals {
  /** Guest exit codes (semihosting). */
  exitCodes?: number[];
  /** Serial output: a string matches as a substring. */
  serial?: Array<string | RegExp>;
  /** Code the firmware runs only then (a handler): reaching it ends the run at once. */
  at?: Array<string | number>;
  /** Memory conditions, checked at the end of the run. */
  memory?: MemorySignal[];
}

/** What a custom classifier is given besides the fault run's evidence. */
export interface ClassifyContext {
  fault: Fault;
  golden: Evidence;
  /** What the default classifier says, to refine rather than redo. */
  defaultVerdict: Verdict;
}

/** A user classifier: return an outcome, or an outcome with a reason. */
export type Classifier = (run: Evidence, context: ClassifyContext) => Outcome | Verdict;

/** The options the default classifier reads. */
export interface ClassifierOptions {
  detect?: Signals;
  crash?: Signals;
}

/** The evidence name under which a memory signal is observed. */
export function memorySignalName(signal: MemorySignal): string {
  return `signal:${typeof signal.at === 'number' ? `0x${signal.at.toString(16)}` : signal.at}`;
}

/** Little-endian value of hex bytes. */
function leValue(hexBytes: string): number {
  const bytes = Buffer.from(hexBytes, 'hex');
  let v = 0;
  for (let i = bytes.length - 1; i >= 0; i--) v = v * 256 + bytes[i]!;
  return v;
}

const label = (at: string | number) => (typeof at === 'number' ? `0x${at.toString(16)}` : at);

/** The first signal of `signals` the evidence shows, described; undefined if none. */
export function matchSignals(run: Evidence, signals: Signals | undefined): string | undefined {
  if (!signals) return undefined;
  if (run.exitCode !== undefined && signals.exitCodes?.includes(run.exitCode)) return `exit code ${run.exitCode}`;
  if (run.trap !== undefined && signals.at?.some((at) => label(at) === run.trap)) return `reached ${run.trap}`;
  for (const pattern of signals.serial ?? []) {
    const text = run.serial ?? '';
    const hit =
      typeof pattern === 'string' ? text.includes(pattern) : new RegExp(pattern.source, pattern.flags.replace('g', '')).test(text);
    if (hit) return `serial ${typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern)}`;
  }
  for (const signal of signals.memory ?? []) {
    const hexBytes = run.memory?.[memorySignalName(signal)];
    if (hexBytes === undefined) continue;
    const value = leValue(hexBytes);
    if ((signal.equals !== undefined && value === signal.equals) || (signal.notEquals !== undefined && value !== signal.notEquals)) {
      return `${label(signal.at)} = 0x${value.toString(16)}`;
    }
  }
  return undefined;
}

/** Observed memory for people: a little-endian value for up to 8 bytes, else the first bytes in hex. */
export function formatMemory(hexBytes: string): string {
  if (hexBytes.length > 16) return `${hexBytes.slice(0, 16)}… (${hexBytes.length / 2} bytes)`;
  return `0x${(hexBytes.match(/../g) ?? []).reverse().join('')}`;
}

/** Where two runs' observable results differ, described (first difference only); undefined if equal. */
export function compareEvidence(run: Evidence, golden: Evidence): string | undefined {
  if (run.end !== golden.end) return `ended by ${run.end}${run.exitCode !== undefined ? ` ${run.exitCode}` : ''} (golden: ${golden.end})`;
  if (run.exitCode !== golden.exitCode) return `exit code ${run.exitCode} (golden ${golden.exitCode})`;
  for (const [name, value] of Object.entries(golden.memory ?? {})) {
    const got = run.memory?.[name];
    if (got !== value) return `${name} = ${got === undefined ? '?' : formatMemory(got)} (golden ${formatMemory(value)})`;
  }
  if ((run.serial ?? '') !== (golden.serial ?? '')) {
    const a = (run.serial ?? '').split('\n');
    const b = (golden.serial ?? '').split('\n');
    const i = a.findIndex((line, n) => line !== b[n]);
    const at = i < 0 ? b.length - 1 : i;
    return `serial line ${at + 1}: ${JSON.stringify(a[at] ?? '')} (golden ${JSON.stringify(b[at] ?? '')})`;
  }
  return undefined;
}

/**
 * The default classifier, in this order: QEMU died → `crash`; a detection signal → `detected`; a
 * crash signal → `crash`; out of wall time, or still running where the golden run had exited →
 * `hang`; the same end, exit code, observed memory and serial output as the golden run → `masked`;
 * otherwise `silent`.
 */
export function defaultClassifier(options: ClassifierOptions = {}): (run: Evidence, golden: Evidence) => Verdict {
  return (run, golden) => {
    if (run.end === 'qemu-died') return { outcome: 'crash', reason: `QEMU died: ${run.error ?? 'no reason given'}` };
    const detected = matchSignals(run, options.detect);
    if (detected) return { outcome: 'detected', reason: detected };
    const crashed = matchSignals(run, options.crash);
    if (crashed) return { outcome: 'crash', reason: crashed };
    if (run.end === 'timeout') return { outcome: 'hang', reason: 'the run exceeded its wall-clock limit' };
    if (run.end === 'budget' && golden.end !== 'budget') {
      return {
        outcome: 'hang',
        reason: `still running at the end of the budget (golden ended by ${golden.end}${golden.exitCode !== undefined ? ` ${golden.exitCode}` : ''})`,
      };
    }
    const difference = compareEvidence(run, golden);
    if (!difference) return { outcome: 'masked', reason: 'same result as the golden run' };
    return { outcome: 'silent', reason: difference };
  };
}

/** Normalises what a user classifier returned; anything else is a {@link CampaignConfigError} (the definition's `classify` is wrong). */
export function toVerdict(value: unknown): Verdict {
  if (typeof value === 'string' && (OUTCOMES as readonly string[]).includes(value))
    return { outcome: value as Outcome, reason: 'classifier' };
  const v = value as Partial<Verdict> | null;
  if (v && typeof v === 'object' && typeof v.outcome === 'string' && (OUTCOMES as readonly string[]).includes(v.outcome)) {
    return { outcome: v.outcome, reason: typeof v.reason === 'string' ? v.reason : 'classifier' };
  }
  throw new CampaignConfigError(
    `the classifier must return one of ${OUTCOMES.join(', ')} (or { outcome, reason }), got ${JSON.stringify(value)}`,
  );
}
