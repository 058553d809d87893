/**
 * Issue #15's memory figures: a long campaign must keep the Node process's RSS and the results
 * file's write rate flat. Two parts, so that it runs in about a minute:
 *
 * 1. A real campaign on QEMU: 1,000 single-bit flips over a RAM range at one moment (one
 *    snapshot), each run for 1 µs of guest time, with a results file: the RSS at its end.
 * 2. The campaign's Node side at scale: 100,000 records shaped like part 1's (the same evidence,
 *    new indexes) appended through the campaign's own results writer and kept in memory as the
 *    runner keeps them for its result. At 1k, 10k and
 *    100k records: the RSS, the heap, and the write rate since the previous mark. A real 100k-fault
 *    campaign runs at 20–300 faults/s on this machine (hours), and its QEMU side is QEMU's memory,
 *    not ours.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atTime, bitFlip, type FaultRecord, faultSpace, memory, runCampaign } from '@qemu-fault/core/campaign';
import { RESULTS_FORMAT, ResultsWriter } from '../packages/core/src/campaign/results-file.js';
import { firmware } from '../test/support/firmware.js';

/** Where the RSS and the write rate are read. */
const MARKS = [1_000, 10_000, 100_000];
/** Faults of the real campaign. */
const REAL_FAULTS = 1_000;
/**
 * Appends in flight: many more than a campaign's workers, whose runs are far slower than the file
 * (1 fsync per group of lines), so the file's own rate is what is measured, in seconds.
 */
const IN_FLIGHT = 64;
/** RAM of the example firmware (mps2-an385) past everything it uses. */
const SPARE_RAM = 0x2000_4000;

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0).padStart(4);

/** Part 1: the real campaign's records, and the RSS once it has run. */
async function realCampaign(resultsFile: string): Promise<FaultRecord[]> {
  const started = performance.now();
  const result = await runCampaign(
    {
      name: 'bench-memory',
      machine: 'mps2-an385',
      kernel: firmware(),
      space: faultSpace({ targets: [memory(SPARE_RAM, REAL_FAULTS / 8, 'ram')], models: [bitFlip()], moments: [atTime(5_000_000)] }),
      budgetNs: 1000,
    },
    { resultsFile, resume: false },
  );
  if (!result.complete) throw new Error('the memory bench campaign did not complete');
  const seconds = (performance.now() - started) / 1000;
  const bytes = (await stat(resultsFile)).size;
  console.log(
    `memory: real campaign, ${result.records.length} faults in ${seconds.toFixed(0)} s   RSS ${mib(process.memoryUsage().rss)} MiB   results file ${(bytes / 1024).toFixed(0)} kB`,
  );
  return [...result.records];
}

/** Part 2: the Node side of a 100k-fault campaign, from part 1's records. */
async function nodeSideAtScale(like: FaultRecord[], resultsFile: string): Promise<void> {
  const { writer } = await ResultsWriter.open(
    resultsFile,
    {
      type: 'campaign',
      format: RESULTS_FORMAT,
      name: 'bench-memory',
      fingerprint: 'bench',
      total: MARKS.at(-1)!,
      shard: { index: 0, count: 1 },
    },
    { fresh: true },
  );
  const kept = new Map<number, FaultRecord>();
  const inFlight = new Set<Promise<void>>();
  let last = { at: performance.now(), done: 0, bytes: 0 };
  try {
    for (let index = 0; index < MARKS.at(-1)!; index++) {
      const model = like[index % like.length]!;
      const record: FaultRecord = { ...model, index, id: `${model.id} #${index}` };
      kept.set(index, record);
      const append = writer.append(record).finally(() => inFlight.delete(append));
      inFlight.add(append);
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      if (!MARKS.includes(index + 1)) continue;
      await Promise.all(inFlight);
      const now = performance.now();
      const bytes = (await stat(resultsFile)).size;
      const seconds = (now - last.at) / 1000;
      const { rss, heapUsed } = process.memoryUsage();
      console.log(
        `memory: ${String(index + 1).padStart(6)} records   RSS ${mib(rss)} MiB   heap ${mib(heapUsed)} MiB   results file ${((index + 1 - last.done) / seconds).toFixed(0).padStart(6)} records/s ${((bytes - last.bytes) / 1024 / seconds).toFixed(0).padStart(6)} kB/s (since the last mark)`,
      );
      last = { at: now, done: index + 1, bytes };
    }
  } finally {
    await Promise.all(inFlight);
    await writer.close();
  }
}

/** Both parts; prints one line for the real campaign and one per mark. */
export async function benchMemory(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'qemu-fault-memory-bench-'));
  try {
    const records = await realCampaign(join(dir, 'real.jsonl'));
    await nodeSideAtScale(records, join(dir, 'scaled.jsonl'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
