/**
 * Reproducing one fault of a campaign from a fresh boot, with a trace a person can read: where the
 * moment froze, what the injection changed, the serial output before and after, how the run
 * ended, the verdict. With `gdb`, the run stops right after the injection instead and QEMU opens a
 * gdbstub for a debugger to take over.
 */
import { join } from 'node:path';
import { UnknownFaultError } from '../errors.js';
import type { RegisterValue } from '../gdb/register-value.js';
import { hex } from '../integers.js';
import { shellQuote } from '../shell-quote.js';
import type { TriggerContext } from '../triggers/types.js';
import { type CampaignDefinition, type ResolvedCampaign, resolveCampaign } from './definition.js';
import type { Fault } from './enumerate.js';
import { goldenPass } from './golden-pass.js';
import type { Evidence, Verdict } from './outcome.js';
import { type MomentPlan, planMoments } from './plans.js';
import { type InjectionProbe, QemuSession, type SessionConfig, type WindowHost } from './qemu-session.js';
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
  /**
   * Where the moment froze: its pc, its guest time (exact only for time moments) and the count of
   * instructions started since QEMU started (-1 where the time source cannot count them).
   */
  moment: { pc: number; timeNs: number; exactTime: boolean; instructions: number };
  /** What the injection changed: the bytes or register it touched, before and after. */
  injected: { what: string; before: string; after: string };
  /** Serial output from boot to the moment. */
  serialBefore: string;
  /** The fault run's evidence, as its record has it (`serial`: the whole output, from boot). */
  evidence: Evidence;
  /** A double fault: whether its second fault was injected (its moment came within the window). */
  secondInjected?: boolean;
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
  options: { fault?: Fault; probe?: InjectionProbe; keep?: boolean; budgetNs?: number | undefined } = {},
): Promise<{ evidence: Evidence; secondInjected?: boolean; session: QemuSession }> {
  const session = await QemuSession.start(config);
  let kept = false;
  try {
    await session.boot();
    const moment = options.fault?.moment ?? plan.moments[0]!;
    const request = { moment, endNs: plan.endNs, budgetNs: options.budgetNs, probe: options.probe };
    const report = await session.execute({ ...request, ...(options.fault ? { fault: options.fault } : {}) }, { thenClose: !options.keep });
    kept = options.keep === true;
    const second = report.secondInjected !== undefined ? { secondInjected: report.secondInjected } : {};
    return { evidence: report.evidence, ...second, session };
  } finally {
    if (!kept) await session.close();
  }
}

/**
 * Replays fault `idOrIndex` (its id, or `#index`) of `definition` from a fresh boot: the golden pass
 * (the golden run to classify against; with a budget, a golden run to the same end), then the fault
 * run, traced. With
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
  const pass =
    campaign.golden ??
    (await goldenPass(campaign, {
      targets: [fault.target],
      moments: [fault.moment],
      traces: [],
      lookup: (name) => campaign.elf.symbol(name),
    }));
  const [plan] = planMoments(campaign, [fault.moment], pass);
  const budgetNs = campaign.definition.budgetNs;
  // Without a budget every run is compared with the golden pass; with one, with a golden run to the same end.
  const golden = options.gdb
    ? undefined
    : budgetNs === undefined
      ? { evidence: pass.evidence }
      : await freshRun(campaign.session, plan!, { budgetNs });

  let moment: FaultTrace['moment'] = { pc: 0, timeNs: 0, exactTime: false, instructions: -1 };
  let serialBefore = '';
  let before = { what: '', value: '' };
  let after = before;
  let stoppedPc: RegisterValue = 0;
  const probe: InjectionProbe = {
    async before(ctx, host) {
      moment = { pc: ctx.pc, timeNs: ctx.timeNs, exactTime: ctx.kind === 'time', instructions: Number(ctx.instructions) };
      before = await touched(host, fault, ctx);
      // QEMU answered since the freeze: what the guest wrote before it has come.
      serialBefore = host.qemu.serial.text;
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
  const run = await freshRun(config, plan!, { fault, probe, keep: options.gdb === true, budgetNs });
  const trace: FaultTrace = {
    campaign: definition.name,
    fault,
    moment,
    injected: { what: before.what, before: before.value, after: after.value },
    serialBefore,
    evidence: run.evidence,
    ...(run.secondInjected !== undefined ? { secondInjected: run.secondInjected } : {}),
  };
  if (!options.gdb) {
    const record = { type: 'golden' as const, moment: plan!.key, momentNs: 0, endNs: plan!.endNs ?? 0, evidence: golden!.evidence };
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
