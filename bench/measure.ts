import { readFileSync } from 'node:fs';

/** Small timing helpers for side-by-side benchmarks: interleaved runs, medians, figures against goals. */

export interface Sample {
  name: string;
  /** Per-iteration times in milliseconds. */
  times: number[];
  /** CPU time of this process and its exited children (QEMU, Vitest's workers) over all iterations, ms. */
  cpuMs: number;
}

/**
 * CPU time so far of this process and of its children that have exited and been waited for
 * (`/proc/self/stat`: utime, stime, cutime, cstime; children's include their own children's):
 * QEMUs we launched, Vitest's workers and the QEMUs they launched. 10 ms ticks: sum many runs.
 */
export function cpuMsWithChildren(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) * 10; // USER_HZ = 100
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs each candidate `iterations` times, alternating between them so that machine noise
 * (other jobs on a shared host) hits both sides alike. `warmup` rounds are not recorded.
 */
export async function interleave(candidates: Record<string, () => Promise<void>>, iterations: number, warmup = 3): Promise<Sample[]> {
  const samples: Sample[] = Object.keys(candidates).map((name) => ({ name, times: [], cpuMs: 0 }));
  for (let round = 0; round < warmup + iterations; round++) {
    for (const sample of samples) {
      const cpu = cpuMsWithChildren();
      const start = performance.now();
      await candidates[sample.name]!();
      if (round < warmup) continue;
      sample.times.push(performance.now() - start);
      sample.cpuMs += cpuMsWithChildren() - cpu;
    }
  }
  return samples;
}

/** Times `count` back-to-back calls of `op` and returns the mean time per call in microseconds. */
export async function perCallMicros(op: () => Promise<unknown>, count: number): Promise<number> {
  for (let i = 0; i < Math.min(50, count); i++) await op(); // warm up (JIT, caches)
  const start = performance.now();
  for (let i = 0; i < count; i++) await op();
  return ((performance.now() - start) * 1000) / count;
}

/** A goal for a figure's value: at most or at least `limit`. */
export interface Goal {
  op: '≤' | '≥';
  limit: number;
}

/** One line of a benchmark table: what was measured, the value compared with the goal, and how. */
export interface Figure {
  title: string;
  /** The measured sides, e.g. `ours 61.2 ms, bare 55.0 ms`. */
  detail: string;
  /** The value the goal applies to (a ratio, a speed, a count), when there is one. */
  value?: number;
  /** How the value reads, e.g. `1.07x`. */
  shown?: string;
  goal?: Goal;
}

const fixed = (n: number, unit: string) => `${n.toFixed(unit === 'ms' || unit === '' ? 2 : 1)} ${unit}`.trim();

/** `ours / baseline` (a cost: lower is better). */
export function costRatio(title: string, ours: number, baseline: number, unit: string, limit: number): Figure {
  const value = ours / baseline;
  return {
    title,
    detail: `ours ${fixed(ours, unit)}, baseline ${fixed(baseline, unit)}`,
    value,
    shown: `${value.toFixed(2)}x`,
    goal: { op: '≤', limit },
  };
}

/** `baseline time / our time` (a speed: higher is better). */
export function speedRatio(title: string, oursMs: number, baselineMs: number, limit: number, names = ['ours', 'baseline']): Figure {
  const value = baselineMs / oursMs;
  return {
    title,
    detail: `${names[0]} ${oursMs.toFixed(0)} ms, ${names[1]} ${baselineMs.toFixed(0)} ms`,
    value,
    shown: `${value.toFixed(2)}x`,
    goal: { op: '≥', limit },
  };
}

function verdict(figure: Figure): string {
  if (!figure.goal || figure.value === undefined) return '';
  const { op, limit } = figure.goal;
  const met = op === '≤' ? figure.value <= limit : figure.value >= limit;
  return met ? 'MET' : 'MISSED';
}

/** Prints one table: a heading, then per figure its value, its goal and MET/MISSED. */
export function printTable(heading: string, figures: readonly Figure[]): void {
  console.log(`\n== ${heading} ==`);
  for (const f of figures) {
    const goal = f.goal ? `goal ${f.goal.op} ${f.goal.limit}${f.shown?.endsWith('x') ? 'x' : ''}` : '';
    console.log(`${f.title.padEnd(48)} ${(f.shown ?? '').padStart(8)}  ${goal.padEnd(12)} ${verdict(f).padEnd(7)} ${f.detail}`);
  }
}
