/**
 * Reproducing one fault of a campaign from a fresh boot, with a trace a person can read: where the
 * moment froze, what the injection changed, the serial output before and after, how the run
 * ended, the verdict. With `gdb`, the run stops right after the injection instead and QEMU opens a
 * gdbstub for a debugger to take over.
 */
import { join } from 'node:path';
import { UnknownFaultError } from '../errors.js';
import type { RegisterValue } from '../gdb/register-value.js';
import { shellQuote } from '../shell-quote.js';
import type { TriggerContext } from '../triggers/types.js';
import { type CampaignDefinition, type ResolvedCampaign, resolveCampaign } from './definition.js';
import type { Fault } from './enumerate.js';
import type { Evidence, Verdict } from './outcome.js';
import { type InjectionProbe, QemuSession, type SessionConfig, type WindowHost } from './qemu-session.js';
import { discover, type MomentPlan, planMoments } from './recorder.js';
import { classify } from './runner.js';

/** How to reproduce a fault. */
export interface ReproduceOptions {
  /** Base for a relative `kernel` (default: the cwd). */
  baseDir?: string;
  /** Stop right after the injection, with QEMU's gdbstub listening (see {@link GdbHandover}). */
  gdb?: boolean;
}

/** What one reproduced fault did. */
export interface FaultTrace {
  campaign: string;
  fault: Fault;
  /** Where the moment froze: its pc, and its guest time (exact only for time moments). */
  moment: { pc: number; timeNs: number; exactTime: boolean };
  /** What the injection changed: the bytes or register it touched, before and after. */
  injected: { what: string; before: string; after: string };
  /** Serial output from boot to the moment. */
  serialBefore: string;
  /** The run from the moment on (its `serial` is the output after the moment). */
  evidence: Evidence;
  /** The verdict against the golden run; absent when stopped for a debugger. */
  verdict?: Verdict;
}

/** A QEMU stopped right after the injection, its gdbstub listening on `socket`. */
export interface GdbHandover {
  socket: string;
  /** The pc it stopped at (the next instruction to run). */
  pc: RegisterValue;
  /** A command line attaching gdb-multiarch. */
  command: string;
  /** Settles when QEMU exits (the developer quit it, or the firmware ended). */
  exited: Promise<unknown>;
  /** Quits QEMU and removes its temp dir. */
  close(): Promise<void>;
}

const PHYSICAL = { physical: true } as const;
const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/** Finds a fault by id, or by `#index`; an {@link UnknownFaultError} lists close ids otherwise. */
export function findFault(campaign: ResolvedCampaign, idOrIndex: string): Fault {
  const byIndex = /^#?(\d+)$/.exec(idOrIndex.trim());
  const fault = byIndex ? campaign.faults[Number(byIndex[1])] : campaign.faults.find((f) => f.id === idOrIndex);
  if (fault) return fault;
  const words = idOrIndex.toLowerCase().split(/\s+/).filter(Boolean);
  const score = (f: Fault) => words.filter((w) => f.id.toLowerCase().includes(w)).length;
  const near = [...campaign.faults]
    .filter((f) => score(f) > 0)
    .sort((a, b) => score(b) - score(a) || a.index - b.index)
    .slice(0, 5)
    .map((f) => f.id);
  throw new UnknownFaultError(idOrIndex, campaign.definition.name, campaign.faults.length, near);
}

/** Reads what `fault` touches, at a freeze: the bytes or register it changes, as text. */
async function touched(host: WindowHost, fault: Fault, ctx: TriggerContext): Promise<{ what: string; value: string }> {
  const { target, action } = fault;
  if (action.kind === 'skip') return { what: 'pc', value: hex(await ctx.registers.get('pc')) };
  if (target.kind === 'register') return { what: target.register, value: hex(await ctx.registers.get(target.register)) };
  if (target.kind !== 'memory') return { what: target.label, value: '?' };
  const [offset, length] =
    action.kind === 'overwrite' ? [action.offset, action.size] : action.kind === 'power-loss' ? [0, target.length] : [action.bit >> 3, 1];
  const address = target.address + offset;
  const bytes = await host.qemu.readBytes(address, length, PHYSICAL);
  return { what: `${target.label}+${offset} (${hex(address)}, ${length} bytes)`, value: `0x${bytes.toString('hex')}` };
}

/** A fresh QEMU: boot, run `plan`'s window (with `fault` and `probe`), close unless `keep`. */
async function freshRun(
  config: SessionConfig,
  plan: MomentPlan,
  options: { fault?: Fault; probe?: InjectionProbe; keep?: boolean } = {},
): Promise<{ evidence: Evidence; serial: string; session: QemuSession }> {
  const session = await QemuSession.start(config);
  const chunks: string[] = [];
  const unsubscribe = session.qemu.serial.onData((text) => chunks.push(text));
  let kept = false;
  try {
    await session.boot();
    const report = await session.execute(
      { moment: plan.moment, endNs: plan.endNs, ...(options.fault ? { fault: options.fault } : {}), probe: options.probe },
      { thenClose: !options.keep },
    );
    kept = options.keep === true;
    return { evidence: report.evidence, serial: chunks.join(''), session };
  } finally {
    unsubscribe();
    if (!kept) await session.close();
  }
}

/**
 * Replays fault `idOrIndex` (its id, or `#index`) of `definition` from a fresh boot: a golden boot
 * to time the moment, the golden run to classify against, then the fault run, traced. With
 * `options.gdb` the fault run stops right after the injection, and a {@link GdbHandover} comes
 * back with it; the caller closes it.
 */
export async function reproduceFault(
  definition: CampaignDefinition,
  idOrIndex: string,
  options: ReproduceOptions = {},
): Promise<{ trace: FaultTrace; gdb?: GdbHandover }> {
  const campaign = await resolveCampaign(definition, { baseDir: options.baseDir });
  const fault = findFault(campaign, idOrIndex);
  const [plan] = planMoments(campaign, [fault.moment], await discover(campaign, [fault.moment]));
  const golden = options.gdb ? undefined : await freshRun(campaign.session, plan!);

  let moment: FaultTrace['moment'] = { pc: 0, timeNs: 0, exactTime: false };
  let before = { what: '', value: '' };
  let after = before;
  let stoppedPc: RegisterValue = 0;
  const probe: InjectionProbe = {
    async before(ctx, host) {
      moment = { pc: ctx.pc, timeNs: ctx.timeNs, exactTime: ctx.kind === 'time' };
      before = await touched(host, fault, ctx);
    },
    async after(ctx, host) {
      after = await touched(host, fault, ctx);
      if (!options.gdb) return;
      // A register write restarts the block at the pc, so the stop that follows lands there,
      // before anything after the injection has run (an unchanged value changes nothing else).
      const pc = await ctx.registers.get('pc');
      stoppedPc = Number(pc);
      await ctx.registers.set('pc', pc);
      host.hold(ctx);
    },
  };
  // Stopped for a debugger, the firmware's exit must end QEMU as it would without us: no traps.
  const config = options.gdb ? { ...campaign.session, traps: [] } : campaign.session;
  const run = await freshRun(config, plan!, { fault, probe, keep: options.gdb === true });
  const serialAfter = run.evidence.serial ?? '';
  const serialBefore = run.serial.endsWith(serialAfter) ? run.serial.slice(0, run.serial.length - serialAfter.length) : run.serial;
  const trace: FaultTrace = {
    campaign: definition.name,
    fault,
    moment,
    injected: { what: before.what, before: before.value, after: after.value },
    serialBefore,
    evidence: run.evidence,
  };
  if (!options.gdb) {
    const record = {
      type: 'golden' as const,
      moment: fault.moment.key,
      momentNs: plan!.momentNs,
      endNs: plan!.endNs,
      evidence: golden!.evidence,
    };
    return { trace: { ...trace, verdict: classify(campaign, run.evidence, record, fault) } };
  }
  const qemu = run.session.qemu;
  const socket = join(qemu.addresses.dir, 'gdb-reproduce.sock');
  try {
    await qemu.hmp(`gdbserver unix:${socket},server=on,wait=off`);
  } catch (err) {
    await run.session.close();
    throw err;
  }
  return {
    trace,
    gdb: {
      socket,
      pc: stoppedPc,
      command: `gdb-multiarch ${shellQuote(campaign.session.launch.kernel ?? '')} -ex ${shellQuote(`target remote ${socket}`)}`,
      exited: qemu.process.exited,
      close: () => run.session.close(),
    },
  };
}
