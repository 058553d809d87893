/**
 * Issue #5's benchmark: fault runs per second of a campaign of single-bit flips on the example
 * firmware, with a snapshot restored per fault (QEMU processes reused) against a fresh QEMU per
 * fault, with the same workers (campaigns' default: CPUs + 1), measured in the same run. The
 * fresh variant runs an evenly spread subset (it is slow), so both are compared per fault.
 */
import { availableParallelism } from 'node:os';
import {
  atTime,
  bitFlip,
  type CampaignDefinition,
  type CampaignProgress,
  type Fault,
  faultSpace,
  runCampaign,
  symbol,
} from '@qemu-fault/core/campaign';
import { firmware } from '../test/support/firmware.js';

/** Words of the example firmware's RAM: guarded, checksummed, unguarded, counters, unused. */
const WORDS = ['guard', 'guard_inv', 'config', 'config_crc', 'calib_offset', 'result', 'ticks', 'loop_counter', 'sensor_value', 'scratch'];

/** Every bit of {@link WORDS} at two moments: 544 bits × 2 = 1,088 faults, each run for 1 ms of guest time. */
export function benchCampaignDefinition(): CampaignDefinition {
  return {
    name: 'bench-flips',
    machine: 'mps2-an385',
    kernel: firmware(),
    space: faultSpace({ targets: WORDS.map((w) => symbol(w)), models: [bitFlip()], moments: [atTime(5_000_000), atTime(11_000_000)] }),
    budgetNs: 1_000_000,
    observe: { memory: ['result'] },
    detect: { exitCodes: [2, 3, 4, 5, 7], at: ['fault_detected'] },
    crash: { exitCodes: [6], at: ['HardFault_Handler'] },
  };
}

/** Runs the campaign and returns the fault-phase rate (runs/s), the end-to-end wall time and the fault count. */
async function measure(
  reuse: 'snapshot' | 'fresh',
  workers: number,
  only?: (f: Fault) => boolean,
): Promise<{ rate: number; wallMs: number; faults: number }> {
  let last: CampaignProgress | undefined;
  const start = performance.now();
  const result = await runCampaign(benchCampaignDefinition(), {
    reuse,
    workers,
    ...(only ? { only } : {}),
    onProgress: (p) => {
      last = p;
    },
  });
  const wallMs = performance.now() - start;
  if (!result.complete || !last) throw new Error(`the ${reuse} campaign did not complete`);
  return { rate: last.ratePerSec, wallMs, faults: result.records.length };
}

/** Prints the snapshot and fresh rates; resolves with the snapshot campaign's fault-run rate (runs/s). */
export async function benchCampaign(workers = availableParallelism() + 1, freshSubset = 60): Promise<number> {
  const snapshot = await measure('snapshot', workers);
  const step = Math.max(1, Math.floor(snapshot.faults / freshSubset));
  const fresh = await measure('fresh', workers, (f) => f.index % step === 0);
  const ratio = snapshot.rate / fresh.rate;
  console.log(
    `${`campaign: 1-bit flips, 1 ms runs, ${workers} workers/${availableParallelism()} CPUs`.padEnd(44)} snapshot ${snapshot.rate.toFixed(1).padStart(7)} runs/s (${snapshot.faults} faults, ${(snapshot.wallMs / 1000).toFixed(1)} s end to end: ${((snapshot.faults / snapshot.wallMs) * 1000).toFixed(1)}/s)   fresh QEMU per fault ${fresh.rate.toFixed(1).padStart(6)} runs/s (${fresh.faults} faults)   ratio ${ratio.toFixed(1)}x   (goal ≥ 10x and ≥ 200 runs/s)`,
  );
  return snapshot.rate;
}
