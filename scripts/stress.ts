/**
 * `pnpm test:stress [--runs N] [--all] [--load N] [--max-minutes M] [-- vitest filters]`: the QEMU-facing suites
 * with every core kept busy by competing processes this script starts and stops itself, run N
 * times (default 2). Load must change no result: 0 failures is the bar, and the campaign's
 * snapshot-vs-fresh equality and the determinism checks are part of the run.
 *
 * By default a subset that takes 2–4 minutes a run on a 2-core machine under this load; no run
 * starts that would end past `--max-minutes` (default 6, CI's budget for it), and at least one
 * always runs. `--all` runs the whole `integration` project. The competing processes end by
 * themselves at a deadline too, so none outlives the script even if it is killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

/** One vitest invocation of a stress run: files of the `integration` project, optionally only the tests a pattern names. */
interface Suite {
  files: string[];
  testNamePattern?: string;
}

/**
 * The default run: launch, run control and the exit races, triggers, guest time and the
 * determinism check, faults and floods, the plugin's protocol; and from the campaigns, the
 * snapshot-vs-fresh equality. (The CLI's tests, a dozen cold Node starts each, take longer than
 * all of these under load: `--all` has them.)
 */
const SUBSET: Suite[] = [
  {
    files: [
      'test/integration/launch.test.ts',
      'test/integration/exit-race.test.ts',
      'test/integration/faults.test.ts',
      'test/integration/time.test.ts',
      'test/integration/triggers.test.ts',
      'test/integration/plugin/protocol.test.ts',
    ],
  },
  { files: ['test/integration/campaign.test.ts'], testNamePattern: 'snapshot runs' },
];

/** No stress run takes longer than this; the competing processes stop at it whatever happens. */
const MAX_RUN_MS = 15 * 60_000;

interface VitestReport {
  numFailedTests: number;
  numPassedTests: number;
  testResults: Array<{
    name: string;
    startTime: number;
    endTime: number;
    assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }>;
  }>;
}

/** Starts `count` processes that each keep one core busy until `deadline` (or until killed). */
function competingLoad(count: number, deadline: number): ChildProcess[] {
  const spin = `const end = ${deadline}; let x = 0; while (Date.now() < end) x = (x * 1664525 + 1013904223) | 0;`;
  return Array.from({ length: count }, () => spawn(process.execPath, ['-e', spin], { stdio: 'ignore' }));
}

/** One vitest run of `suite`; resolves with its JSON report. */
async function runSuite(suite: Suite, filters: string[], report: string): Promise<VitestReport | undefined> {
  const args = ['exec', 'vitest', 'run', '--project', 'integration', '--reporter=dot', '--reporter=json', `--outputFile.json=${report}`];
  const pattern = suite.testNamePattern ? ['-t', suite.testNamePattern] : [];
  const child = spawn('pnpm', [...args, ...pattern, ...suite.files, ...filters], { stdio: 'inherit' });
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
      'max-minutes': { type: 'string', default: '6' },
    },
    allowPositionals: true,
  });
  const runs = Number(values.runs);
  const load = Number(values.load);
  const maxMs = Number(values['max-minutes']) * 60_000;
  if (!(Number.isInteger(runs) && runs > 0) || !(Number.isInteger(load) && load >= 0) || !(maxMs > 0)) {
    console.error('usage: pnpm test:stress [--runs N] [--all] [--load N] [--max-minutes M] [-- vitest filters]');
    return 2;
  }
  const suites: Suite[] = values.all ? [{ files: [] }] : SUBSET;
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
    const begun = Date.now();
    for (let run = 1; run <= runs; run++) {
      const started = Date.now();
      console.log(`\n== stress run ${run}/${runs}: ${values.all ? 'all of integration' : 'the subset'}, ${load} competing processes ==`);
      const times: string[] = [];
      for (const [i, suite] of suites.entries()) {
        const report = await runSuite(suite, positionals, join(dir, `run-${run}-${i}.json`));
        if (!report) {
          failures.push(`run ${run}: vitest wrote no report for ${suite.files.join(' ') || 'the project'}`);
          continue;
        }
        for (const file of report.testResults) {
          times.push(`${((file.endTime - file.startTime) / 1000).toFixed(0).padStart(4)} s  ${relative(process.cwd(), file.name)}`);
          for (const test of file.assertionResults) {
            if (test.status === 'failed')
              failures.push(`run ${run}: ${test.fullName}\n    ${test.failureMessages[0]?.split('\n')[0] ?? ''}`);
          }
        }
      }
      console.log(`== run ${run} took ${((Date.now() - started) / 1000).toFixed(0)} s; per file:\n${times.join('\n')}`);
      // Another run as long as this one would overrun the budget: CI's time stays bounded on a slow machine.
      if (run < runs && Date.now() - begun + (Date.now() - started) > maxMs) {
        console.log(
          `== stopping after ${run} of ${runs} runs: another would pass the ${values['max-minutes']}-minute budget (--max-minutes)`,
        );
        break;
      }
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
