/**
 * A campaign's definition (what a config file default-exports) and its resolution against the
 * firmware: symbols looked up, faults enumerated, traps and observed regions laid out, and a
 * fingerprint that ties a results file to exactly this campaign.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ElfImage, readElf } from '../elf/elf-file.js';
import { CampaignConfigError, InvalidArgumentError } from '../errors.js';
import type { LaunchOptions } from '../launched/launch.js';
import type { LaunchedQemu } from '../launched/launched-qemu.js';
import { semihostingSites } from './elf-code.js';
import {
  enumerateFaults,
  type Fault,
  formatNs,
  type ResolvedMoment,
  resolveMoment,
  resolveTarget,
  spaceParts,
  traceMoments,
} from './enumerate.js';
import type { ObservedRegion } from './evidence.js';
import type { Trap } from './exit-traps.js';
import { type GoldenPass, goldenPass } from './golden-pass.js';
import { type Classifier, memorySignalName, type Signals } from './outcome.js';
import type { ParamWrite, SessionConfig } from './qemu-session.js';
import { checkStopWhen, drawSample, type SampleSpec, type Sampling, type StopWhen } from './sample.js';
import { checkPart, type FaultSpaceSpec, isTraceMoment, type TraceMomentSpec } from './space.js';
import { traceKey } from './trace-moments.js';

/** A memory region to observe: a symbol (its whole size), or an address and length. */
export type ObserveSpec = string | { at: string | number; length?: number; name?: string };

/**
 * A fault campaign. Everything but `prepare` and `classify` is plain data, so the same definition
 * can be written as JSON.
 */
export interface CampaignDefinition {
  /** Names the campaign in reports. */
  name: string;
  /** QEMU machine, e.g. `mps2-an385`. */
  machine: string;
  /** Firmware ELF (a relative path is relative to the config file, or to the cwd when given in code). */
  kernel: string | URL;
  /** More `launch()` options (`args`, `cpu`, `memory`, `time: { shift }`, `qemu`). */
  launch?: Omit<LaunchOptions, 'machine' | 'kernel'>;
  /** Words written before the first instruction (e.g. `{ at: 'run_ticks', value: 0 }`). */
  params?: Array<{ at: string | number; value: number; size?: 1 | 2 | 4 }>;
  /** Runs on a fresh boot (paused before the first instruction), after `params`. */
  prepare?: (qemu: LaunchedQemu) => void | Promise<void>;
  /** The faults: targets × models × moments (see `faultSpace()`). */
  space: FaultSpaceSpec;
  /**
   * Guest time each run gets after its moment. Default: until the golden run's exit plus as much
   * again (at least 1 ms), so a fault that keeps the firmware from exiting counts as a hang.
   */
  budgetNs?: number;
  /** Longest guest time the golden run may take to exit when `budgetNs` is not given (default 10 s). */
  maxGuestNs?: number;
  /** What a run's result is: memory read at its end, and the serial output (default true). */
  observe?: { memory?: ObserveSpec[]; serial?: boolean };
  /** How the firmware shows it noticed a fault (exit codes, serial, code it runs then, memory). */
  detect?: Signals;
  /** How a crash shows (a fault handler, its exit code). QEMU dying is always a crash. */
  crash?: Signals;
  /** Your own classifier; it gets the default's verdict to refine. */
  classify?: Classifier;
  /** How far before a moment its snapshot is taken, at least (default 1 ms; doubled until it works). */
  snapshotLeadNs?: number;
  /** Wall-clock limit of one run (default 30 000 ms). */
  runTimeoutMs?: number;
  /**
   * Run a random sample of the space instead of all of it: `{ count, seed }`, or `{ margin,
   * confidence, seed }` for the sample size of Leveugle et al. (DATE 2009). The result then gives
   * each outcome's rate with a Wilson interval.
   */
  sample?: SampleSpec;
  /** With `sample`: end early once this outcome's interval is at most ±`margin`. */
  stopWhen?: StopWhen;
}

/** Returns `definition` unchanged: gives a config file's default export its type. */
export function defineCampaign(definition: CampaignDefinition): CampaignDefinition {
  return definition;
}

/** A definition resolved against its firmware. */
export interface ResolvedCampaign {
  definition: CampaignDefinition;
  elf: ElfImage;
  faults: Fault[];
  /** Distinct moments, in order of first use. */
  moments: ResolvedMoment[];
  session: SessionConfig;
  fingerprint: string;
  /** The sample drawn (see {@link CampaignDefinition.sample}). */
  sampling?: Sampling;
  /** The golden pass, when the space has trace moments (resolving them took it). */
  golden?: GoldenPass;
}

function kernelPath(kernel: string | URL, baseDir: string): string {
  if (kernel instanceof URL) return fileURLToPath(kernel);
  if (typeof kernel !== 'string' || !kernel) throw new InvalidArgumentError('the campaign needs a `kernel` (the firmware ELF)');
  if (kernel.startsWith('file:')) return fileURLToPath(kernel);
  return isAbsolute(kernel) ? kernel : resolvePath(baseDir, kernel);
}

const at = (elf: ElfImage, where: string | number) => (typeof where === 'number' ? where : elf.symbol(where).address);
const nameOf = (where: string | number) => (typeof where === 'number' ? `0x${where.toString(16)}` : where);

function observedRegions(def: CampaignDefinition, elf: ElfImage): ObservedRegion[] {
  const regions: ObservedRegion[] = (def.observe?.memory ?? []).map((spec) => {
    const o = typeof spec === 'string' ? { at: spec } : spec;
    const length = o.length ?? (typeof o.at === 'string' ? elf.symbol(o.at).size || 4 : 4);
    return { name: o.name ?? nameOf(o.at), address: at(elf, o.at), length };
  });
  // Memory signals must be observed to be matched.
  for (const signal of [...(def.detect?.memory ?? []), ...(def.crash?.memory ?? [])]) {
    regions.push({ name: memorySignalName(signal), address: at(elf, signal.at), length: signal.size ?? 4 });
  }
  return regions;
}

/** JSON with RegExps spelled out, for the fingerprint. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (v instanceof RegExp ? `/${v.source}/${v.flags}` : v instanceof URL ? v.href : v));
}

/**
 * Resolves a definition: reads the ELF, enumerates the faults (a space with trace moments: after
 * the golden pass, which reads them off), lays out traps and observed memory. `onSession` is told
 * the QEMU configuration as soon as it is known, before any golden pass (to launch workers
 * meanwhile). Throws a {@link CampaignConfigError} (or the ELF's own error) naming what is wrong.
 */
export async function resolveCampaign(
  def: CampaignDefinition,
  options: { baseDir?: string | undefined; onSession?: (session: SessionConfig) => void } = {},
): Promise<ResolvedCampaign> {
  if (!def || typeof def !== 'object') throw new CampaignConfigError('the campaign definition must be an object');
  if (typeof def.name !== 'string' || !def.name) throw new CampaignConfigError('the campaign needs a `name`');
  if (typeof def.machine !== 'string' || !def.machine) throw new CampaignConfigError('the campaign needs a `machine`, e.g. mps2-an385');
  if (def.launch?.time === false) throw new CampaignConfigError('campaigns need guest time (launch.time must not be false)');
  for (const [key, value] of [
    ['budgetNs', def.budgetNs],
    ['maxGuestNs', def.maxGuestNs],
    ['snapshotLeadNs', def.snapshotLeadNs],
    ['runTimeoutMs', def.runTimeoutMs],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0))
      throw new CampaignConfigError(`${key} must be a positive integer, got ${String(value)}`);
  }
  const kernel = kernelPath(def.kernel, options.baseDir ?? process.cwd());
  const elf = await readElf(kernel);
  const lookup = (name: string) => {
    const s = elf.symbol(name);
    return { address: s.address, size: s.size };
  };
  const traps: Trap[] = [
    ...(def.detect?.at ?? []).map((w) => ({ name: nameOf(w), pc: at(elf, w), kind: 'detect' as const })),
    ...(def.crash?.at ?? []).map((w) => ({ name: nameOf(w), pc: at(elf, w), kind: 'crash' as const })),
    ...(await semihostingSites(elf)).map(({ pc, next }) => ({ name: `semihosting@0x${pc.toString(16)}`, pc, next, kind: 'exit' as const })),
  ];
  const params: ParamWrite[] = (def.params ?? []).map((p) => ({ address: at(elf, p.at), size: p.size ?? 4, value: p.value }));
  const session: SessionConfig = {
    launch: { ...def.launch, machine: def.machine, kernel },
    params,
    prepare: def.prepare,
    traps,
    observe: observedRegions(def, elf),
    serial: def.observe?.serial ?? true,
    runTimeoutMs: def.runTimeoutMs ?? 30_000,
    capabilities: {},
  };
  checkStopWhen(def.stopWhen, def.sample);
  const traces = faultSpaceCheck(() => traceMoments(def.space));
  let golden: GoldenPass | undefined;
  if (traces.length) golden = await traceGoldenRun(def, session, traces, lookup, options.onSession);
  const faults = faultSpaceCheck(() =>
    enumerateFaults(def.space, lookup, (spec) => {
      const traced = golden!.traced.get(traceKey(spec))!;
      if (!traced.length) throw new CampaignConfigError(`moment ${describeTrace(spec)} is empty: the golden run never gets there`);
      return traced.map((t) => t.moment);
    }),
  );
  if (!traces.length) options.onSession?.(session);
  const moments = [...new Map(faults.map((f) => [f.moment.key, f.moment])).values()];
  const sampling = def.sample ? drawSample(def.sample, faults.length) : undefined;
  const kernelHash = createHash('sha256')
    .update(await readFile(kernel))
    .digest('hex');
  const fingerprint = createHash('sha256')
    .update(
      stable({
        format: 1,
        machine: def.machine,
        kernelHash,
        launch: def.launch ?? {},
        params,
        faults: faults.map((f) => f.id),
        budgetNs: def.budgetNs ?? null,
        maxGuestNs: def.maxGuestNs ?? null,
        observe: session.observe,
        serial: session.serial,
        detect: def.detect ?? null,
        crash: def.crash ?? null,
        ...(def.sample ? { sample: def.sample, stopWhen: def.stopWhen ?? null } : {}),
      }),
    )
    .digest('hex')
    .slice(0, 16);
  return { definition: def, elf, faults, moments, session, fingerprint, ...(golden ? { golden } : {}), ...(sampling ? { sampling } : {}) };
}

/** Runs `build`, turning a malformed space's InvalidArgumentError into a CampaignConfigError. */
function faultSpaceCheck<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new CampaignConfigError(`fault space: ${err.message}`);
    throw err;
  }
}

/** The golden pass of a space with trace moments: it arms every moment given by hand too. */
function traceGoldenRun(
  def: CampaignDefinition,
  session: SessionConfig,
  traces: TraceMomentSpec[],
  lookup: (name: string) => { address: number; size: number },
  onSession: ((session: SessionConfig) => void) | undefined,
): Promise<GoldenPass> {
  const parts = spaceParts(def.space);
  const { targets, moments } = faultSpaceCheck(() => {
    for (const part of parts) checkPart(part);
    return {
      targets: parts.flatMap((p) => p.targets.map((t) => resolveTarget(t, lookup))),
      moments: parts.flatMap((p) => p.moments.flatMap((m) => (isTraceMoment(m) ? [] : [resolveMoment(m, lookup)]))),
    };
  });
  onSession?.(session);
  return goldenPass(
    { definition: def, session },
    { targets, moments: [...new Map(moments.map((m) => [m.key, m])).values()], traces, lookup },
  );
}

function describeTrace(spec: TraceMomentSpec): string {
  if (spec.kind === 'accessed') return `accessed(${JSON.stringify(spec.in)}, ${spec.access ?? 'write'})`;
  return 'in' in spec ? `executed({ in: '${spec.in}' })` : `executed(${JSON.stringify({ from: spec.from, to: spec.to })})`;
}

/** A moment's label for messages. */
export function describeMoment(m: ResolvedMoment): string {
  return m.kind === 'time' ? `time ${formatNs(m.ns)}` : m.key;
}
