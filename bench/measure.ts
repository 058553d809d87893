/** Small timing helpers for side-by-side benchmarks: interleaved runs, medians, ratios. */

export interface Sample {
  name: string;
  /** Per-iteration times in milliseconds. */
  times: number[];
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
  const samples = Object.keys(candidates).map((name) => ({ name, times: [] as number[] }));
  for (let round = 0; round < warmup + iterations; round++) {
    for (const sample of samples) {
      const start = performance.now();
      await candidates[sample.name]!();
      if (round >= warmup) sample.times.push(performance.now() - start);
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

/** Prints one comparison line: both medians and the ratio against the baseline, with the goal. */
export function report(title: string, ours: number, baseline: number, unit: string, goal: string): void {
  const ratio = ours / baseline;
  console.log(
    `${title.padEnd(44)} ours ${ours.toFixed(unit === 'ms' ? 2 : 1).padStart(8)} ${unit}   baseline ${baseline.toFixed(unit === 'ms' ? 2 : 1).padStart(8)} ${unit}   ratio ${ratio.toFixed(2)}x   (goal ${goal})`,
  );
}
