/**
 * `qemu-fault campaign <config>`: runs a campaign with a progress bar and writes its reports; with
 * `--merge`, merges shards' results files instead. Called by the `qemu-fault` dispatcher.
 */
import { join } from 'node:path';
import { HELP_OPTION, parseCommand, positiveInteger } from '../cli/args.js';
import { ExitCode, UsageError } from '../cli/exit-codes.js';
import { describeError, type Output, processOutput } from '../cli/output.js';
import { watchSignals } from '../cli/signals.js';
import { QemuFaultError } from '../errors.js';
import { loadCampaignDefinition } from './config-loader.js';
import { parseShard } from './enumerate.js';
import { mergeCampaignResults } from './merge.js';
import { OUTCOMES, type Outcome } from './outcome.js';
import { formatProgress } from './progress.js';
import { writeCampaignReport } from './report.js';
import type { CampaignResult } from './result.js';
import { type CampaignProgress, runCampaign } from './runner.js';

export const CAMPAIGN_HELP = `Usage: qemu-fault campaign <config> [options]
       qemu-fault campaign --merge <results.jsonl>... [--out DIR]

Runs the fault campaign a config file defines and writes <out>/results.json and
<out>/report.html. The config is a .ts/.mts/.js/.mjs module default-exporting the
definition (defineCampaign({...})), or a .json file holding it.

Options:
  --out DIR        where the reports go (default: reports/campaign-<name>)
  --results FILE   the JSON Lines results file, resumed if it matches (default: <out>/results.jsonl)
  --fresh          start the results file over instead of resuming it
  --workers N      parallel QEMU workers (default: CPUs, at most 4)
  --shard I/N      run shard I of N (1-based), e.g. --shard 2/4 in a CI matrix
  --reuse MODE     snapshot (default: restore a snapshot per fault) or fresh (a new QEMU per fault)
  --fail-on LIST   exit with 1 if any fault is one of these outcomes, e.g. --fail-on silent,hang
  --merge          merge the results files given (one per shard) into one report
  --quiet          no progress bar
  -h, --help       this help

Exit codes: 0 done, 1 the campaign failed (or --fail-on matched), 2 usage or config error,
130/143 interrupted (the results so far are kept and reported; run again to resume).`;

const OPTIONS = {
  ...HELP_OPTION,
  out: { type: 'string' },
  results: { type: 'string' },
  fresh: { type: 'boolean' },
  workers: { type: 'string' },
  shard: { type: 'string' },
  reuse: { type: 'string' },
  'fail-on': { type: 'string' },
  merge: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

function outcomes(list: string): Outcome[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.find((n) => !(OUTCOMES as readonly string[]).includes(n));
  if (bad !== undefined || !names.length) throw new UsageError(`--fail-on takes outcomes from ${OUTCOMES.join(', ')}, got '${list}'`);
  return names as Outcome[];
}

/** Redraws one progress line on a terminal (at most 10 times a second), or prints one every 5 s otherwise. */
function progressPrinter(quiet: boolean): { update(p: CampaignProgress): void; end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let latest: CampaignProgress | undefined;
  return {
    update(p) {
      latest = p;
      const now = Date.now();
      if (quiet || now - last < (tty ? 100 : 5000)) return;
      last = now;
      process.stderr.write(tty ? `\r${formatProgress(p)}\x1b[K` : `${formatProgress(p)}\n`);
    },
    end() {
      if (!quiet && latest) process.stderr.write(tty ? `\r${formatProgress(latest)}\x1b[K\n` : `${formatProgress(latest)}\n`);
    },
  };
}

async function report(result: CampaignResult, outDir: string, out: Output, failOn: Outcome[]): Promise<number> {
  const json = join(outDir, 'results.json');
  const html = join(outDir, 'report.html');
  await writeCampaignReport(result, { json, html });
  out.print(result.summary());
  out.print(`reports: ${json}\n         ${html}`);
  const failing = failOn.length ? result.select({ outcome: failOn }).length : 0;
  if (failing) out.error(`${failing} faults are ${failOn.join(' or ')} (--fail-on)`);
  return failing ? ExitCode.FAILED : ExitCode.OK;
}

/**
 * Runs `qemu-fault campaign` with `argv` (the arguments after `campaign`) and resolves with the
 * exit code. Writes the summary to stdout, progress and errors to stderr.
 */
export async function runCampaignCommand(argv: string[], out: Output = processOutput): Promise<number> {
  let parsed;
  try {
    parsed = parseCommand(argv, OPTIONS, { min: 1, max: Number.MAX_SAFE_INTEGER, names: 'the campaign config' });
  } catch (err) {
    out.error(`qemu-fault campaign: ${(err as Error).message}\nRun 'qemu-fault campaign --help' for usage.`);
    return ExitCode.USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out.print(CAMPAIGN_HELP);
    return ExitCode.OK;
  }
  const signals = watchSignals();
  try {
    const failOn = values['fail-on'] !== undefined ? outcomes(values['fail-on']) : [];
    if (values.merge) {
      const result = await mergeCampaignResults(positionals);
      return await report(result, values.out ?? join('reports', `campaign-${result.name}`), out, failOn);
    }
    if (positionals.length !== 1) throw new UsageError(`expected one config file, got ${positionals.length}`);
    const reuse = values.reuse ?? 'snapshot';
    if (reuse !== 'snapshot' && reuse !== 'fresh') throw new UsageError(`--reuse must be snapshot or fresh, got '${reuse}'`);
    const { definition, baseDir } = await loadCampaignDefinition(positionals[0]!);
    const outDir = values.out ?? join('reports', `campaign-${definition.name}`);
    const abort = new AbortController();
    let stoppedBy: 'SIGINT' | 'SIGTERM' | undefined;
    void signals.received.then((signal) => {
      stoppedBy = signal;
      out.error(`\n${signal}: finishing the runs in flight, then writing the reports (run again to resume)`);
      abort.abort();
    });
    const progress = progressPrinter(values.quiet === true);
    const result = await runCampaign(definition, {
      baseDir,
      resultsFile: values.results ?? join(outDir, 'results.jsonl'),
      resume: values.fresh !== true,
      reuse,
      signal: abort.signal,
      onProgress: (p) => progress.update(p),
      ...(values.workers !== undefined ? { workers: positiveInteger(values.workers, '--workers') } : {}),
      ...(values.shard !== undefined ? { shard: parseShard(values.shard) } : {}),
    }).finally(() => progress.end());
    const code = await report(result, outDir, out, failOn);
    return stoppedBy === 'SIGINT' ? ExitCode.SIGINT : stoppedBy === 'SIGTERM' ? ExitCode.SIGTERM : code;
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err instanceof QemuFaultError && (err.code === 'INVALID_ARGUMENT' || err.code === 'CAMPAIGN_CONFIG'))
    ) {
      out.error(`qemu-fault campaign: ${err.message}`);
      return ExitCode.USAGE;
    }
    out.error(`qemu-fault campaign: ${describeError(err, { stack: true })}`);
    return ExitCode.FAILED;
  } finally {
    signals.dispose();
  }
}
