/**
 * `runCampaign()`: the golden pass, the recording pass (snapshots before each cluster of moments),
 * then every fault of the shard on a pool of QEMU workers (one process each, reused from fault to
 * fault), each record appended to the results file as it completes.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { CampaignConfigError, ClassifierError, InvalidArgumentError, SnapshotError } from '../errors.js';
import type { PrivateDir } from '../launch/private-dir.js';
import { type CampaignDefinition, type ResolvedCampaign, resolveCampaign } from './definition.js';
import { checkShard, type Fault, type Shard, shardRange } from './enumerate.js';
import { type GoldenPass, goldenPass } from './golden-pass.js';
import { defaultClassifier, type Evidence, OUTCOMES, type Outcome, toVerdict, type Verdict } from './outcome.js';
import { HitCounter, type MomentPlan, planMoments, settleEnds } from './plans.js';
import type { RunReport, SessionConfig } from './qemu-session.js';
import { recordSnapshots } from './recorder.js';
import { CampaignResult } from './result.js';
import { type CampaignHeader, type FaultRecord, type GoldenRecord, RESULTS_FORMAT, ResultsWriter } from './results-file.js';
import { STOP_CHECK_EVERY, samplingInfo, stoppedAt } from './sample.js';
import { createImage, imageDir } from './snapshot-images.js';
import { onPool, Worker } from './worker.js';

/** Progress, reported after every fault run. */
export interface CampaignProgress {
  /** Faults of this run's scope with a result (resumed ones included). */
  done: number;
  /** Faults in this run's scope (the shard, or the `only` subset). */
  total: number;
  /** Results taken over from the results file. */
  resumed: number;
  /** Fault runs per second since the first fault run started. */
  ratePerSec: number;
  /** Estimated wall time left, in ms (undefined until a rate is known). */
  etaMs: number | undefined;
  counts: Record<Outcome, number>;
}

/** How to run a campaign (the definition says what). */
export interface RunCampaignOptions {
  /**
   * Parallel QEMU workers (default: CPUs + 1, at most 8: a run spends part of its time waiting for
   * QEMU's main loop, so one worker more than cores keeps the cores busy).
   */
  workers?: number;
  /** Run only this part of the fault space (contiguous, deterministic; see `shardRange`). */
  shard?: Shard;
  /** JSON Lines results file; a campaign interrupted midway continues from it. */
  resultsFile?: string;
  /** Continue a matching results file (default true); false starts it over. */
  resume?: boolean;
  /** `snapshot` (default): a snapshot before each cluster of moments, restored per fault. `fresh`: a new QEMU per fault. */
  reuse?: 'snapshot' | 'fresh';
  /** Run only the faults this accepts (within the shard). */
  only?: (fault: Fault) => boolean;
  /** Where snapshot images go (default: the OS temp dir); removed at the end. */
  snapshotDir?: string;
  /** Base for a relative `kernel` (default: the cwd). */
  baseDir?: string;
  /** The config file the definition came from: names it in the result's reproduce commands. */
  configFile?: string;
  onProgress?: (progress: CampaignProgress) => void;
  /** Stops dispatching faults; runs in flight finish and are recorded. The result is then incomplete. */
  signal?: AbortSignal;
}

/** Workers beyond the CPUs by default (see {@link RunCampaignOptions.workers}). */
const WORKERS_ABOVE_CPUS = 1;
/** The most workers a campaign starts by default. */
const MAX_DEFAULT_WORKERS = 8;
/** How {@link defaultWorkers} is chosen, in words (for `--help`). */
export const DEFAULT_WORKERS_RULE = `CPUs + ${WORKERS_ABOVE_CPUS}, at most ${MAX_DEFAULT_WORKERS}`;

/** CPUs + 1, at most 8 (see {@link RunCampaignOptions.workers}). */
export function defaultWorkers(): number {
  return Math.min(MAX_DEFAULT_WORKERS, availableParallelism() + WORKERS_ABOVE_CPUS);
}

/** How fault runs start by default: from a snapshot (see {@link RunCampaignOptions.reuse}). */
export const DEFAULT_REUSE = 'snapshot';

/** The verdict on a fault run: the default classifier, refined by the definition's own. */
export function classify(campaign: ResolvedCampaign, evidence: Evidence, golden: GoldenRecord, fault: Fault): Verdict {
  const def = campaign.definition;
  const defaultVerdict = defaultClassifier({ detect: def.detect, crash: def.crash })(evidence, golden.evidence);
  if (!def.classify) return defaultVerdict;
  try {
    return toVerdict(def.classify(evidence, { fault, golden: golden.evidence, defaultVerdict }));
  } catch (err) {
    throw new ClassifierError(fault.id, err);
  }
}

/** The golden record's key when one golden run serves every moment (no budget: the golden pass). */
const WHOLE_RUN = 'run';

/** Checks that a golden run looks fault-free to the campaign's own signals. */
function checkGolden(campaign: ResolvedCampaign, evidence: Evidence, where: string): void {
  const def = campaign.definition;
  const verdict = defaultClassifier({ detect: def.detect, crash: def.crash })(evidence, evidence);
  if (verdict.outcome !== 'masked') {
    throw new CampaignConfigError(`the golden run${where} already counts as '${verdict.outcome}' (${verdict.reason}): check detect/crash`);
  }
}

/** The golden run of a plan with a budget: from its start to its end, checked to reach its first moment. */
async function planGolden(campaign: ResolvedCampaign, worker: Worker, plan: MomentPlan, pass: GoldenPass): Promise<GoldenRecord> {
  const first = plan.moments[0]!;
  const report = await worker.execute(plan, first);
  if (!report.reached)
    throw new CampaignConfigError(
      `the golden run from the snapshot of ${plan.key} ended (${report.evidence.end}) before reaching ${first.key}`,
    );
  checkGolden(campaign, report.evidence, ` at ${plan.key}`);
  // A time moment's exact freeze, and the end its budget gave.
  const momentNs = report.momentNs ?? pass.momentNs.get(first.key) ?? 0;
  const endNs = plan.endNs ?? momentNs + campaign.definition.budgetNs!;
  return { type: 'golden', moment: plan.key, momentNs, endNs, evidence: report.evidence };
}

/** The proof of injection a record carries: whether the moment came, where, and what the fault changed. */
function injection(report: RunReport): FaultRecord['injection'] {
  return {
    reached: report.reached,
    ...(report.effect ? { effect: report.effect } : {}),
  };
}

function faultRecord(fault: Fault, report: RunReport, verdict: Verdict): FaultRecord {
  return {
    type: 'fault',
    index: fault.index,
    id: fault.id,
    target: fault.target.label,
    action: fault.actionLabel,
    moment: fault.moment.key,
    fault: { target: fault.target, action: fault.action, moment: fault.moment, ...(fault.second ? { second: fault.second } : {}) },
    ...(report.secondInjected !== undefined ? { secondInjected: report.secondInjected } : {}),
    outcome: verdict.outcome,
    reason: verdict.reason,
    ...(report.momentPc !== undefined ? { pc: report.momentPc } : {}),
    ...(report.endPc !== undefined ? { endPc: report.endPc } : {}),
    ...(report.evidence.timeNs !== undefined ? { timeNs: report.evidence.timeNs } : {}),
    injection: injection(report),
    evidence: report.evidence,
  };
}

/** A fault run's verdict: `not-injected` if its moment never came, else the classifier's. */
export function verdictOf(campaign: ResolvedCampaign, report: RunReport, golden: GoldenRecord, fault: Fault): Verdict {
  if (!report.reached) {
    return { outcome: 'not-injected', reason: `the moment never came: the run ended (${report.evidence.end}) first` };
  }
  return classify(campaign, report.evidence, golden, fault);
}

/**
 * Runs a fault campaign and returns its result. Snapshots and worker QEMUs live in a private temp
 * dir and are gone when this settles, whether it succeeds, fails or is aborted.
 */
export async function runCampaign(definition: CampaignDefinition, options: RunCampaignOptions = {}): Promise<CampaignResult> {
  const workerCount = options.workers ?? defaultWorkers();
  if (!Number.isSafeInteger(workerCount) || workerCount < 1)
    throw new InvalidArgumentError(`workers must be a positive integer, got ${workerCount}`);
  const reuse = options.reuse ?? DEFAULT_REUSE;
  if (reuse !== 'snapshot' && reuse !== 'fresh')
    throw new InvalidArgumentError(`reuse must be 'snapshot' or 'fresh', got ${String(reuse)}`);
  let tmp: PrivateDir | undefined;
  const workers: Worker[] = [];
  let launching: Promise<unknown> = Promise.resolve();
  // Worker QEMUs start as soon as their configuration is known: they boot while the golden pass runs.
  const startWorkers = async (session: SessionConfig) => {
    tmp = imageDir(options.snapshotDir);
    for (let i = 0; i < workerCount; i++) {
      const image = reuse === 'snapshot' ? join(tmp.path, `worker${i}.qcow2`) : undefined;
      if (image) await createImage(image);
      workers.push(new Worker({ session, definition }, image));
    }
    await Promise.all(workers.map((w) => w.launch()));
  };
  let writer: ResultsWriter | undefined;
  try {
    const campaign = await resolveCampaign(definition, {
      baseDir: options.baseDir,
      onSession: (session) => {
        if (!options.signal?.aborted) launching = startWorkers(session);
      },
    });
    const shard = checkShard(options.shard ?? { index: 0, count: 1 });
    // A sample runs in its drawn order, so that every prefix of it is a random sample too.
    const space = campaign.sampling ? campaign.sampling.order.map((i) => campaign.faults[i]!) : campaign.faults;
    const range = shardRange(space.length, shard);
    const scope = space.slice(range.start, range.end).filter((f) => options.only?.(f) ?? true);
    const stopWhen = campaign.sampling && definition.stopWhen;
    const header: CampaignHeader = {
      type: 'campaign',
      format: RESULTS_FORMAT,
      name: definition.name,
      fingerprint: campaign.fingerprint,
      total: campaign.faults.length,
      shard,
    };

    const opened = options.resultsFile
      ? await ResultsWriter.open(options.resultsFile, header, { fresh: options.resume === false })
      : undefined;
    writer = opened?.writer;
    const records = new Map<number, FaultRecord>();
    const inScope = new Set(scope.map((f) => f.index));
    for (const r of opened?.existing?.faults ?? []) if (inScope.has(r.index)) records.set(r.index, r);
    const golden = new Map<string, GoldenRecord>((opened?.existing?.golden ?? []).map((g) => [g.moment, g]));
    const resumed = records.size;
    const pending = scope.filter((f) => !records.has(f.index));

    if (pending.length && !options.signal?.aborted) {
      const moments = [...new Map(pending.map((f) => [f.moment.key, f.moment])).values()];
      const pass =
        campaign.golden ??
        (await goldenPass(campaign, {
          targets: [...new Map(pending.map((f) => [f.target.label, f.target])).values()],
          moments,
          traces: [],
          lookup: (name) => campaign.elf.symbol(name),
        }));
      const plans = planMoments(campaign, moments, pass);
      const planOf = new Map(plans.flatMap((p) => p.moments.map((m) => [m.key, p] as const)));
      const byBudget = definition.budgetNs !== undefined;
      await launching;
      if (reuse === 'snapshot') {
        // Each worker records into its own image; the walk is deterministic, so all must agree.
        const placed = await Promise.all(workers.map((w) => w.record(campaign, plans)));
        for (const [i, plan] of plans.entries()) {
          plan.place = placed[0]![i]!;
          if (placed.some((places) => JSON.stringify(places[i]) !== JSON.stringify(plan.place)))
            throw new SnapshotError(`the workers' recording passes placed ${plan.key} apart: the golden run is not deterministic`);
        }
      } else if (byBudget && plans.some((p) => p.traced)) {
        // Runs from the boot still end where runs from snapshots would.
        await recordSnapshots(campaign, plans, undefined);
      }
      settleEnds(campaign, plans);
      const hits = new HitCounter([...pass.traced.values()].flat());
      for (const w of workers) w.hits = hits;

      const keep = async (record: GoldenRecord) => {
        const stored = golden.get(record.moment);
        if (stored && JSON.stringify(stored) !== JSON.stringify(record)) {
          throw new SnapshotError(
            `the golden run at ${record.moment} differs from the one in ${options.resultsFile}: the firmware, QEMU or the campaign changed, or runs are not deterministic`,
          );
        }
        if (!stored) {
          golden.set(record.moment, record);
          await writer?.append(record);
        }
      };
      if (byBudget)
        await onPool(
          workers,
          plans,
          async (worker, plan) => keep(await planGolden(campaign, worker, plan, pass)),
          () => false,
        );
      else {
        checkGolden(campaign, pass.evidence, '');
        await keep({ type: 'golden', moment: WHOLE_RUN, momentNs: 0, endNs: pass.endNs, evidence: pass.evidence });
      }
      const goldenOf = (fault: Fault) => golden.get(byBudget ? planOf.get(fault.moment.key)!.key : WHOLE_RUN)!;

      const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
      for (const r of records.values()) counts[r.outcome]++;
      const started = performance.now();
      let ran = 0;
      const runFault = async (worker: Worker, fault: Fault) => {
        const report = await worker.execute(planOf.get(fault.moment.key)!, fault.moment, fault);
        const record = faultRecord(fault, report, verdictOf(campaign, report, goldenOf(fault), fault));
        records.set(fault.index, record);
        counts[record.outcome]++;
        ran++;
        await writer?.append(record);
        if (options.onProgress) {
          const ratePerSec = ran / ((performance.now() - started) / 1000);
          const left = scope.length - records.size;
          options.onProgress({
            done: records.size,
            total: scope.length,
            resumed,
            ratePerSec,
            etaMs: ratePerSec > 0 ? (left / ratePerSec) * 1000 : undefined,
            counts: { ...counts },
          });
        }
      };
      // With stopWhen, in batches of the drawn order, checked after each: any worker count stops at the same fault.
      const step = stopWhen ? STOP_CHECK_EVERY : Math.max(1, scope.length);
      for (let start = 0; start < scope.length && !options.signal?.aborted; start += step) {
        const batch = scope.slice(start, start + step);
        await onPool(
          workers,
          batch.filter((f) => !records.has(f.index)),
          runFault,
          () => options.signal?.aborted ?? false,
        );
        if (stopWhen && stoppedAt(stopWhen, scope, records, campaign.sampling!) !== undefined) break;
      }
    }
    // In the order the moments first appear, whatever order the workers finished them in.
    const goldenRecords = [...golden.values()].sort((a, b) => a.momentNs - b.momentNs || a.moment.localeCompare(b.moment));
    const result = new CampaignResult(
      definition.name,
      campaign.faults.length,
      goldenRecords,
      [...records.values()],
      campaign.fingerprint,
      scope.length,
    );
    result.configFile = options.configFile;
    result.kernel = { path: campaign.elf.path, machine: campaign.elf.machine };
    if (campaign.sampling) result.sampling = samplingInfo(campaign.sampling, stopWhen || undefined, scope, records);
    return result;
  } finally {
    // Workers still starting are closed once started (their launch may have failed: that is reported already, or moot).
    await Promise.allSettled([launching]);
    await Promise.allSettled(workers.map((w) => w.close()));
    await writer?.close();
    (tmp as PrivateDir | undefined)?.remove();
  }
}
