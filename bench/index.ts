/**
 * `pnpm bench`: every benchmark, each measured side by side with its baseline in this one run,
 * printing one table per QEMU version of the test matrix (test/support/qemus.ts), each figure with
 * its goal and MET/MISSED, then the suite-level figures (system QEMU) and the campaign.
 *
 *   pnpm bench [section ...]   sections: launch roundtrips emulation latency soak fixture
 *                              workers suite profile campaign moments memory (default: all)
 */
import { availableParallelism, loadavg } from 'node:os';
import { QEMU_DIR_VARIABLE } from '../packages/core/src/launch/qemu-binary.js';
import { qemusUnderTest } from '../test/support/qemus.js';
import { benchCampaign } from './campaign.bench.js';
import { benchLaunchCycle, benchRoundTrips } from './core.bench.js';
import { type Figure, printTable } from './measure.js';
import { benchMemory } from './memory.bench.js';
import { benchDeterminismSoak, benchEmulationSpeed, benchTriggerLatency } from './time.bench.js';
import { benchManyMoments, benchTraceCampaign } from './trace-campaign.bench.js';
import { benchExamplesSuite, benchFixture, benchWorkers, profileRun } from './vitest.bench.js';

const asked = process.argv.slice(2);
const wants = (section: string) => asked.length === 0 || asked.includes(section);

console.log(
  `qemu-fault benchmarks: medians, side by side in this run; ${availableParallelism()} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (a shared machine: every figure depends on it)`,
);

/**
 * QEMU releases whose guest time differs on purpose of QEMU's (documented in the README, tested in
 * test/integration/time.test.ts): their soak outcome is compared only among themselves.
 */
const DOCUMENTED_APART: Record<string, string> = {
  '7.2': "7.2's mps2 SysTick ticks every 2 ms, not 1 ms (README, Time and triggers)",
};

/** One soak outcome per version: the same scenario must give the same answer on every QEMU. */
const soakOutcomes = new Map<string, ReadonlySet<string>>();

for (const qemu of qemusUnderTest()) {
  // launch() takes the binaries from here; the bench's raw baselines use the same (qemuBinary()).
  if (qemu.dir) process.env[QEMU_DIR_VARIABLE] = qemu.dir;
  else delete process.env[QEMU_DIR_VARIABLE];
  const figures: Figure[] = [];
  if (wants('launch')) figures.push(...(await benchLaunchCycle()));
  if (wants('roundtrips')) figures.push(...(await benchRoundTrips()));
  if (wants('emulation')) figures.push(...(await benchEmulationSpeed()));
  if (wants('latency')) figures.push(await benchTriggerLatency());
  if (wants('soak')) {
    const soak = await benchDeterminismSoak();
    figures.push(soak.figure);
    soakOutcomes.set(qemu.version, soak.outcomes);
  }
  if (wants('fixture')) figures.push(...(await benchFixture()));
  printTable(`QEMU ${qemu.version}${qemu.dir ? ` (${qemu.dir})` : ' (system)'}`, figures);
}
delete process.env[QEMU_DIR_VARIABLE];

const suite: Figure[] = [];
if (soakOutcomes.size > 1) suite.push(...acrossVersions(soakOutcomes));
if (wants('workers')) suite.push(...(await benchWorkers()));
if (wants('suite')) suite.push(...(await benchExamplesSuite()));
if (wants('profile')) {
  for (const workers of [1, 2]) {
    suite.push(
      await profileRun(`profile: 80 runs, ${workers} worker${workers > 1 ? 's' : ''}`, { filters: ['throughput-'], workers, warm: 'auto' }),
    );
  }
}
if (suite.length) printTable('suites (system QEMU)', suite);
if (wants('campaign')) {
  console.log('');
  await benchTraceCampaign(await benchCampaign());
}
if (wants('moments')) await benchManyMoments();
if (wants('memory')) {
  console.log('');
  await benchMemory();
}

/** The soak's outcomes compared across versions: one outcome for all, bar documented differences. */
function acrossVersions(outcomes: ReadonlyMap<string, ReadonlySet<string>>): Figure[] {
  const release = (version: string) => version.split('.').slice(0, 2).join('.');
  const rows: Figure[] = [];
  const groups = new Map<string, string[]>();
  for (const version of outcomes.keys()) {
    const group = DOCUMENTED_APART[release(version)] ? release(version) : 'the others';
    groups.set(group, [...(groups.get(group) ?? []), version]);
  }
  for (const [group, versions] of groups) {
    const distinct = new Set(versions.flatMap((v) => [...outcomes.get(v)!]));
    rows.push({
      title: `determinism soak across QEMUs (${group})`,
      detail: `${versions.join(', ')}${DOCUMENTED_APART[group] ? `: apart because ${DOCUMENTED_APART[group]}` : ''}`,
      value: distinct.size,
      shown: String(distinct.size),
      goal: { op: '≤', limit: 1 },
    });
  }
  return rows;
}
