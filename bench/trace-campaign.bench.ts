/**
 * Issue #12's benchmark: a trace-driven skip campaign — one skip at every dynamic instruction of
 * the pin app's `verify_pin` (`executed({ in: 'verify_pin' })`) — end to end (golden pass,
 * snapshots, workers, every fault) and its fault-run rate, next to the fault-run rate of the
 * time-moment campaign of campaign.bench.ts measured in the same run. And a campaign of more than
 * 10 000 moments: a skip at every instruction faultdemo's `busy_work` executes.
 */
import { availableParallelism } from 'node:os';
import {
  type CampaignDefinition,
  type CampaignProgress,
  executed,
  faultSpace,
  instruction,
  runCampaign,
  skip,
} from '@qemu-fault/core/campaign';
import { firmware } from '../test/support/firmware.js';

/** Every dynamic instruction of `verify_pin` (pin app, wrong PIN), skipped: 71 faults on this build. */
export function traceCampaignDefinition(): CampaignDefinition {
  return {
    name: 'bench-trace-skips',
    machine: 'mps2-an385',
    kernel: firmware('mps2-an385', 'pin'),
    space: faultSpace({ targets: [instruction()], models: [skip()], moments: [executed({ in: 'verify_pin' })] }),
    observe: { memory: ['pin_status', 'pin_tries_left'] },
    detect: { exitCodes: [8] },
    crash: { exitCodes: [6], at: ['HardFault_Handler'] },
  };
}

/** Every dynamic instruction of faultdemo's `busy_work` (10 060 on this build), skipped, each run for 1 ms of guest time. */
export function manyMomentsDefinition(): CampaignDefinition {
  return {
    name: 'bench-10k-moments',
    machine: 'mps2-an385',
    kernel: firmware(),
    space: faultSpace({ targets: [instruction()], models: [skip()], moments: [executed({ in: 'busy_work' })] }),
    budgetNs: 1_000_000,
    observe: { memory: ['result'] },
    detect: { exitCodes: [2, 3, 4, 5, 7], at: ['fault_detected'] },
    crash: { exitCodes: [6], at: ['HardFault_Handler'] },
  };
}

/** Runs a campaign; returns faults, the end-to-end rate (faults per wall second, all included) and the fault-run rate. */
async function measure(definition: CampaignDefinition, workers: number): Promise<{ faults: number; endToEnd: number; runs: number }> {
  let last: CampaignProgress | undefined;
  const start = performance.now();
  const result = await runCampaign(definition, {
    workers,
    onProgress: (p) => {
      last = p;
    },
  });
  const wallMs = performance.now() - start;
  if (!result.complete || !last) throw new Error(`campaign ${definition.name} did not complete`);
  return { faults: result.records.length, endToEnd: (result.records.length / wallMs) * 1000, runs: last.ratePerSec };
}

/**
 * Prints the trace-driven campaign's rates; `timeMomentRuns` is the fault-run rate of the
 * time-moment campaign (campaign.bench.ts) to compare with.
 */
export async function benchTraceCampaign(timeMomentRuns: number, workers = availableParallelism() + 1): Promise<void> {
  const trace = await measure(traceCampaignDefinition(), workers);
  console.log(
    `${`trace campaign: skip × executed(verify_pin), ${workers} workers`.padEnd(44)} ${trace.endToEnd.toFixed(1).padStart(7)} faults/s end to end (${trace.faults} faults; goal ≥ 100)   fault runs ${trace.runs.toFixed(1)}/s = ${(trace.runs / timeMomentRuns).toFixed(2)}× the time-moment campaign's ${timeMomentRuns.toFixed(1)}/s (goal ≥ 0.8×)`,
  );
}

/** Prints the rates of a campaign of more than 10 000 moments (no moment limit). */
export async function benchManyMoments(workers = availableParallelism() + 1): Promise<void> {
  const many = await measure(manyMomentsDefinition(), workers);
  console.log(
    `${`campaign of ${many.faults} trace moments, ${workers} workers`.padEnd(44)} ${many.endToEnd.toFixed(1).padStart(7)} faults/s end to end   fault runs ${many.runs.toFixed(1)}/s`,
  );
}
