/**
 * `pnpm test:stress [--runs N] [--all] [--load N] [-- vitest filters]`: the QEMU-facing suites
 * with every core kept busy by competing processes this script starts and stops itself, run N
 * times (default 2). Load must change no result: 0 failures is the bar, and the campaign's
 * snapshot-vs-fresh equality and the determinism checks are part of the run.
 *
 * By default a subset that takes about 2–3 minutes a run on a loaded 2-core machine (CI budgets 6
 * minutes); `--all` runs the whole `integration` project. The competing processes end by
 * themselves at a deadline too, so none outlives the script even if it is killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/** The QEMU-facing files of the default run: launch, triggers, time and determinism, faults, the race, the CLI. */
const SUBSET = [
  'test/integration/launch.test.ts',
  'test/integration/exit-race.test.ts',
  'test/integration/faults.test.ts',
  'test/integration/time.test.ts',
  'test/integration/triggers.test.ts',
  'test/integration/framework.test.ts',
  'test/integration/plugin/protocol.test.ts',
  'test/integration/qtest-client.test.ts',
  'test/integration/cli.test.ts',
  'test/integration/campaign.test.ts',
];

/** No stress run takes longer than this; the competing processes stop at it whatever happens. */
const MAX_RUN_MS = 15 * 60_000;

interface VitestReport {
  numFailedTests: number;
  numPassedTests: number;
  testResults: Array<{ name: string; assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
}

/** Starts `count` processes that each keep one core busy until `deadline` (or until killed). */
function competingLoad(count: number, deadline: number): ChildProcess[] {
  const spin = `const end = ${deadline}; let x = 0; while (Date.now() < end) x = (x * 1664525 + 1013904223) | 0;`;
  return Array.from({ length: count }, () => spawn(process.execPath, ['-e', spin], { stdio: 'ignore' }));
}

/** One vitest run of `files` in the `integration` project; resolves with its JSON report. */
async function runSuites(files: string[], filters: string[], report: string): Promise<VitestReport | undefined> {
  const args = ['exec', 'vitest', 'run', '--project', 'integration', '--reporter=dot', '--reporter=json', `--outputFile.json=${report}`];
  const child = spawn('pnpm', [...args, ...files, ...filters], { stdio: 'inherit' });
  await new Promise((resolve) => child.once('exit', resolve));
  return readFile(report, 'utf8').then(
    (text) => JSON.parse(text) as VitestReport,
    () => undefined,
  );
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      runs: { type: 'string', default: '2' },
      all: { type: 'boolean', default: false },
      load: { type: 'string', default: String(availableParallelism()) },
    },
    allowPositionals: true,
  });
  const runs = Number(values.runs);
  const load = Number(values.load);
  if (!(Number.isInteger(runs) && runs > 0) || !(Number.isInteger(load) && load >= 0)) {
    console.error('usage: pnpm test:stress [--runs N] [--all] [--load N] [-- vitest filters]');
    return 2;
  }
  const files = values.all ? [] : SUBSET;
  const dir = await mkdtemp(join(tmpdir(), 'qemu-fault-stress-'));
  const hogs = competingLoad(load, Date.now() + runs * MAX_RUN_MS);
  const stop = () => {
    for (const hog of hogs) hog.kill('SIGKILL');
  };
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      stop();
      process.exit(code);
    });
  }
  const failures: string[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const started = Date.now();
      console.log(`\n== stress run ${run}/${runs}: ${files.length || 'all'} files, ${load} competing processes ==`);
      const report = await runSuites(files, positionals, join(dir, `run-${run}.json`));
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      if (!report) {
        failures.push(`run ${run}: vitest wrote no report`);
        continue;
      }
      for (const file of report.testResults) {
        for (const test of file.assertionResults) {
          if (test.status === 'failed') failures.push(`run ${run}: ${test.fullName}\n    ${test.failureMessages[0]?.split('\n')[0] ?? ''}`);
        }
      }
      console.log(`== run ${run}: ${report.numPassedTests} passed, ${report.numFailedTests} failed in ${seconds} s ==`);
    }
  } finally {
    stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    failures.length ? `\nstress: ${failures.length} failures\n  ${failures.join('\n  ')}` : `\nstress: 0 failures in ${runs} runs`,
  );
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
