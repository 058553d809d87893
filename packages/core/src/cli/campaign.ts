/**
 * `qemu-fault campaign <config>`: runs a campaign with a progress bar and writes its reports; with
 * `--merge`, merges shards' results files instead.
 */
import { join } from 'node:path';
import { readBaseline } from '../campaign/baseline.js';
import { loadCampaignDefinition } from '../campaign/config-loader.js';
import { parseShard } from '../campaign/enumerate.js';
import { mergeCampaignResults } from '../campaign/merge.js';
import { OUTCOMES, type Outcome } from '../campaign/outcome.js';
import { formatProgress } from '../campaign/progress.js';
import { writeCampaignReport } from '../campaign/report.js';
import type { CampaignResult } from '../campaign/result.js';
import { type CampaignProgress, DEFAULT_REUSE, DEFAULT_WORKERS_RULE, defaultWorkers, runCampaign } from '../campaign/runner.js';
import { QemuFaultError } from '../errors.js';
import { HELP_OPTION, type OptionSpec, optionsHelp, parseCommand, positiveInteger } from './args.js';
import { reproduceCommand } from './campaign-reproduce.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { describeError, type Output, processOutput } from './output.js';
import { watchSignals } from './signals.js';

/** What a campaign run writes into its output dir. */
const FILES = { results: 'results.jsonl', json: 'results.json', html: 'report.html' } as const;

/** Where the reports go without `--out`. */
function defaultOutDir(name: string): string {
  return join('reports', `campaign-${name}`);
}

const OPTIONS = {
  out: { type: 'string', value: 'DIR', help: 'where the reports go', defaultHelp: defaultOutDir('<name>') },
  results: {
    type: 'string',
    value: 'FILE',
    help: 'the JSON Lines results file, resumed if it matches',
    defaultHelp: join('<out>', FILES.results),
  },
  fresh: { type: 'boolean', help: 'start the results file over instead of resuming it' },
  workers: { type: 'string', value: 'N', help: 'parallel QEMU workers', defaultHelp: `${DEFAULT_WORKERS_RULE}: ${defaultWorkers()} here` },
  shard: { type: 'string', value: 'I/N', help: 'run shard I of N (1-based), e.g. --shard 2/4 in a CI matrix' },
  reuse: {
    type: 'string',
    value: 'MODE',
    default: DEFAULT_REUSE,
    help: 'snapshot (restore a snapshot per fault) or fresh (a new QEMU per fault)',
  },
  'fail-on': { type: 'string', value: 'LIST', help: 'exit with 1 if any fault is one of these outcomes, e.g. --fail-on silent,hang' },
  baseline: {
    type: 'string',
    value: 'FILE',
    help: 'compare with an earlier results.jsonl or results.json (faults matched by id); the report shows the difference',
  },
  'fail-on-new': {
    type: 'string',
    value: 'LIST',
    help: 'with --baseline: exit with 1 if a fault got worse and is now one of these, e.g. --fail-on-new silent,hang',
  },
  reproduce: {
    type: 'string',
    value: 'FAULT',
    help: 'replay one fault (its id as the report shows it, or #index) from a fresh boot and print its trace',
  },
  gdb: { type: 'boolean', help: 'with --reproduce: stop right after the injection with the gdbstub on a printed socket' },
  merge: { type: 'boolean', help: 'merge the results files given (one per shard) into one report' },
  quiet: { type: 'boolean', help: 'no progress bar' },
  ...HELP_OPTION,
} as const satisfies Record<string, OptionSpec>;

export const CAMPAIGN_HELP = `Usage: qemu-fault campaign <config> [options]
       qemu-fault campaign <config> --reproduce <fault-id> [--gdb]
       qemu-fault campaign --merge <results.jsonl>... [--out DIR]

Runs the fault campaign a config file defines and writes <out>/${FILES.json} and
<out>/${FILES.html}. The config is a .ts/.mts/.js/.mjs module default-exporting the
definition (defineCampaign({...})), or a .json file holding it.

Options:
${optionsHelp(OPTIONS)}

Exit codes: 0 done, 1 the campaign failed (or --fail-on/--fail-on-new matched), 2 usage or config error,
130/143 interrupted (the results so far are kept and reported; run again to resume).`;

function outcomes(list: string, option: string): Outcome[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.find((n) => !(OUTCOMES as readonly string[]).includes(n));
  if (bad !== undefined || !names.length) throw new UsageError(`${option} takes outcomes from ${OUTCOMES.join(', ')}, got '${list}'`);
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

/** What decides the exit code besides the campaign running to its end. */
interface Gates {
  failOn: Outcome[];
  baseline?: string | undefined;
  failOnNew: Outcome[];
}

function parseGates(values: { 'fail-on'?: string | undefined; baseline?: string | undefined; 'fail-on-new'?: string | undefined }): Gates {
  const failOnNew = values['fail-on-new'] !== undefined ? outcomes(values['fail-on-new'], '--fail-on-new') : [];
  if (failOnNew.length && values.baseline === undefined) throw new UsageError('--fail-on-new needs --baseline');
  return {
    failOn: values['fail-on'] !== undefined ? outcomes(values['fail-on'], '--fail-on') : [],
    baseline: values.baseline,
    failOnNew,
  };
}

async function report(result: CampaignResult, outDir: string, out: Output, gates: Gates): Promise<number> {
  const json = join(outDir, FILES.json);
  const html = join(outDir, FILES.html);
  const comparison = gates.baseline !== undefined ? result.compare(await readBaseline(gates.baseline)) : undefined;
  await writeCampaignReport(result, { json, html }, { comparison });
  out.print(result.summary());
  if (comparison) out.print(comparison.summary());
  out.print(`reports: ${json}\n         ${html}`);
  let code: number = ExitCode.OK;
  const failing = gates.failOn.length ? result.select({ outcome: gates.failOn }).length : 0;
  if (failing) {
    out.error(`${failing} faults are ${gates.failOn.join(' or ')} (--fail-on)`);
    code = ExitCode.FAILED;
  }
  if (comparison && gates.failOnNew.length) {
    try {
      comparison.assertNoNew(gates.failOnNew);
    } catch (err) {
      out.error(`${(err as Error).message}\n(--fail-on-new)`);
      code = ExitCode.FAILED;
    }
  }
  return code;
}

/**
 * Runs `qemu-fault campaign` with `argv` (the arguments after `campaign`) and resolves with the
 * exit code. Writes the summary to stdout, progress and errors to stderr.
 */
export async function campaignCommand(argv: readonly string[], out: Output = processOutput): Promise<number> {
  let parsed: ReturnType<typeof parseCommand<typeof OPTIONS>>;
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
    const gates = parseGates(values);
    if (values.merge) {
      const result = await mergeCampaignResults(positionals);
      return await report(result, values.out ?? defaultOutDir(result.name), out, gates);
    }
    if (positionals.length !== 1) throw new UsageError(`expected one config file, got ${positionals.length}`);
    const reuse = values.reuse;
    if (reuse !== 'snapshot' && reuse !== 'fresh') throw new UsageError(`--reuse must be snapshot or fresh, got '${reuse}'`);
    const { definition, baseDir } = await loadCampaignDefinition(positionals[0]!);
    if (values.reproduce !== undefined) {
      return await reproduceCommand(definition, values.reproduce, { baseDir, gdb: values.gdb === true }, out, signals);
    }
    if (values.gdb) throw new UsageError('--gdb needs --reproduce');
    const outDir = values.out ?? defaultOutDir(definition.name);
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
      configFile: positionals[0]!,
      resultsFile: values.results ?? join(outDir, FILES.results),
      resume: values.fresh !== true,
      reuse,
      signal: abort.signal,
      onProgress: (p) => progress.update(p),
      ...(values.workers !== undefined ? { workers: positiveInteger(values.workers, '--workers') } : {}),
      ...(values.shard !== undefined ? { shard: parseShard(values.shard) } : {}),
    }).finally(() => progress.end());
    const code = await report(result, outDir, out, gates);
    return stoppedBy === 'SIGINT' ? ExitCode.SIGINT : stoppedBy === 'SIGTERM' ? ExitCode.SIGTERM : code;
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err instanceof QemuFaultError && (err.code === 'INVALID_ARGUMENT' || err.code === 'CAMPAIGN_CONFIG' || err.code === 'UNKNOWN_FAULT'))
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
