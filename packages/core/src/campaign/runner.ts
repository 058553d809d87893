/**
 * `runCampaign()`: golden boot, snapshots, the golden run of every moment, then every fault of the
 * shard on a pool of QEMU workers (one process each, reused from fault to fault), each record
 * appended to the results file as it completes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CampaignConfigError, ClassifierError, InvalidArgumentError, SnapshotError } from '../errors.js';
import { createPrivateDir, type PrivateDir } from '../launch/private-dir.js';
import { guardDir, releaseDir } from '../launch/reaper.js';
import { type CampaignDefinition, type ResolvedCampaign, resolveCampaign } from './definition.js';
import { checkShard, type Fault, type Shard, shardRange } from './enumerate.js';
import { defaultClassifier, type Evidence, OUTCOMES, type Outcome, toVerdict, type Verdict } from './outcome.js';
import { QemuSession, type RunReport } from './qemu-session.js';
import { discover, type MomentPlan, planMoments, recordSnapshots } from './recorder.js';
import { CampaignResult } from './result.js';
import { type CampaignHeader, type FaultRecord, type GoldenRecord, RESULTS_FORMAT, ResultsWriter } from './results-file.js';
import { STOP_CHECK_EVERY, samplingInfo, stoppedAt } from './sample.js';

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
  /** `snapshot` (default): one snapshot per moment, restored per fault. `fresh`: a new QEMU per fault. */
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

const run = promisify(execFile);

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

/** How fault runs start by default: from a snapshot per moment (see {@link RunCampaignOptions.reuse}). */
export const DEFAULT_REUSE = 'snapshot';

/** Creates an empty qcow2 image for snapshots (the vmstate lives outside its virtual size). */
async function createImage(path: string): Promise<void> {
  try {
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1M']);
  } catch (err) {
    const e = err as { stderr?: string; code?: string };
    throw new SnapshotError(
      `cannot create the snapshot image ${path} with qemu-img (package qemu-utils): ${e.stderr?.trim() || e.code || String(err)}`,
      { cause: err },
    );
  }
}

/**
 * A private dir for the snapshot images: in the temp dir, or under `parent`. Either way the reaper
 * knows it, so it goes even if this process is killed.
 */
async function imageDir(parent: string | undefined): Promise<PrivateDir> {
  if (!parent) return createPrivateDir();
  const path = join(parent, `qemu-fault-campaign-${process.pid}-${randomBytes(6).toString('hex')}`);
  guardDir(path);
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (err) {
    releaseDir(path);
    throw new SnapshotError(`cannot create a directory for snapshot images in ${parent}: ${(err as Error).message}`, { cause: err });
  }
  return {
    path,
    remove: async () => {
      await rm(path, { recursive: true, force: true });
      releaseDir(path);
    },
  };
}

/** Copies the recorded image for each worker (one QEMU may open an image at a time). */
async function copyImage(from: string, to: string): Promise<void> {
  try {
    await copyFile(from, to);
  } catch (err) {
    const full = (err as NodeJS.ErrnoException).code === 'ENOSPC';
    throw new SnapshotError(
      `cannot copy the snapshot image to ${to}: ${(err as Error).message}${full ? ' — the disk is full; point `snapshotDir` elsewhere' : ''}`,
      { cause: err },
    );
  }
}

/** A worker: one QEMU at a time, relaunched when a fault run kills it. */
class Worker {
  private session: QemuSession | undefined;
  /** Bytes at moments, kept across the sessions of this worker (see `InjectionHost.seen`). */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly campaign: ResolvedCampaign,
    private readonly image: string | undefined,
  ) {}

  /** Runs `plan`'s window with `fault` (none: the golden run). */
  async execute(plan: MomentPlan, fault?: Fault): Promise<RunReport> {
    const request = { moment: plan.moment, endNs: plan.endNs, ...(fault ? { fault } : {}) };
    if (!this.image) {
      // Fresh mode: boot, run, quit — what a campaign without snapshots costs.
      const session = await QemuSession.start(this.campaign.session);
      session.seen = this.seen;
      try {
        await session.boot();
        return await session.execute(request, { thenClose: true });
      } finally {
        await session.close();
      }
    }
    if (this.session && !this.session.alive) {
      await this.session.close();
      this.session = undefined;
    }
    if (!this.session) {
      this.session = await QemuSession.start(this.campaign.session, this.image);
      this.session.seen = this.seen;
    }
    await this.session.load(plan.tag!);
    return this.session.execute(request);
  }

  async close(): Promise<void> {
    await this.session?.close();
    this.session = undefined;
  }
}

/** Runs `task` over `items` on the workers, each worker taking the next item when free; stops early on `stop()`. */
async function onPool<T>(
  workers: Worker[],
  items: readonly T[],
  task: (worker: Worker, item: T) => Promise<void>,
  stop: () => boolean,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(
    workers.map(async (worker) => {
      while (!failure && !stop() && next < items.length) {
        const item = items[next++]!;
        try {
          await task(worker, item);
        } catch (error) {
          failure ??= { error };
        }
      }
    }),
  );
  if (failure) throw failure.error;
}

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

/** The golden run of `plan`, checked: it reaches its moment where the golden boot did, and looks fault-free. */
async function goldenRun(campaign: ResolvedCampaign, worker: Worker, plan: MomentPlan): Promise<GoldenRecord> {
  const report = await worker.execute(plan);
  const key = plan.moment.key;
  if (!report.reached)
    throw new CampaignConfigError(`the golden run from the snapshot of ${key} ended (${report.evidence.end}) before reaching it`);
  if (report.momentNs !== undefined && report.momentNs !== plan.momentNs) {
    throw new SnapshotError(
      `replaying the snapshot of ${key} diverged from the golden boot: the moment froze at ${report.momentReportedNs} ns, not ${plan.momentNs} ns`,
    );
  }
  const def = campaign.definition;
  const verdict = defaultClassifier({ detect: def.detect, crash: def.crash })(report.evidence, report.evidence);
  if (verdict.outcome !== 'masked') {
    throw new CampaignConfigError(
      `the golden run at ${key} already counts as '${verdict.outcome}' (${verdict.reason}): check detect/crash`,
    );
  }
  return { type: 'golden', moment: key, momentNs: plan.momentNs, endNs: plan.endNs, evidence: report.evidence };
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
    ...(report.evidence.timeNs !== undefined ? { timeNs: report.evidence.timeNs } : {}),
    evidence: report.evidence,
  };
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
  const campaign = await resolveCampaign(definition, { baseDir: options.baseDir });
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
  const writer = opened?.writer;
  const records = new Map<number, FaultRecord>();
  const inScope = new Set(scope.map((f) => f.index));
  for (const r of opened?.existing?.faults ?? []) if (inScope.has(r.index)) records.set(r.index, r);
  const golden = new Map<string, GoldenRecord>((opened?.existing?.golden ?? []).map((g) => [g.moment, g]));
  const resumed = records.size;
  const pending = scope.filter((f) => !records.has(f.index));

  let tmp: PrivateDir | undefined;
  const workers: Worker[] = [];
  try {
    if (pending.length && !options.signal?.aborted) {
      const moments = [...new Map(pending.map((f) => [f.moment.key, f.moment])).values()];
      const discovery = await discover(campaign, moments);
      const plans = planMoments(campaign, moments, discovery);
      const planOf = new Map(plans.map((p) => [p.moment.key, p]));
      tmp = await imageDir(options.snapshotDir);
      const images: Array<string | undefined> = [];
      if (reuse === 'snapshot') {
        const recorded = join(tmp.path, 'recorded.qcow2');
        await createImage(recorded);
        await recordSnapshots(campaign, plans, discovery, recorded);
        for (let i = 0; i < workerCount; i++) {
          images.push(join(tmp.path, `worker${i}.qcow2`));
          await copyImage(recorded, images[i]!);
        }
      } else images.push(...Array.from({ length: workerCount }, () => undefined));
      workers.push(...images.map((image) => new Worker(campaign, image)));

      await onPool(
        workers,
        plans,
        async (worker, plan) => {
          const record = await goldenRun(campaign, worker, plan);
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
        },
        () => false,
      );

      const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
      for (const r of records.values()) counts[r.outcome]++;
      const started = performance.now();
      let ran = 0;
      const runFault = async (worker: Worker, fault: Fault) => {
        const report = await worker.execute(planOf.get(fault.moment.key)!, fault);
        const record = faultRecord(fault, report, classify(campaign, report.evidence, golden.get(fault.moment.key)!, fault));
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
  } finally {
    await Promise.allSettled(workers.map((w) => w.close()));
    await writer?.close();
    await tmp?.remove();
  }
  // In the order the moments first appear, whatever order the workers finished them in.
  const momentOrder = [...new Set(scope.map((f) => f.moment.key))];
  const goldenRecords = momentOrder.flatMap((key) => golden.get(key) ?? []);
  const result = new CampaignResult(
    definition.name,
    campaign.faults.length,
    goldenRecords,
    [...records.values()],
    campaign.fingerprint,
    scope.length,
  );
  result.configFile = options.configFile;
  if (campaign.sampling) result.sampling = samplingInfo(campaign.sampling, stopWhen || undefined, scope, records);
  return result;
}
