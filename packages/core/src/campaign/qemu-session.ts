/**
 * One QEMU used for many runs: snapshots (HMP `savevm`/`loadvm` into a qcow2 image attached with
 * `-drive if=none`), traps that end a run when the firmware exits, detects or crashes, and the run
 * itself: arm the moment, run to the end of the budget (or a trap, or QEMU's end), observe, and
 * stop cleanly so the next run can load a snapshot.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CampaignConfigError, ChannelUnavailableError, InvalidArgumentError, SnapshotError } from '../errors.js';
import { HmpMonitor, hmpMonitorArgs } from '../hmp/hmp-monitor.js';
import { type LaunchedQemu, type LaunchOptions, launch } from '../launch/launch.js';
import { createPrivateDir, type PrivateDir } from '../launch/private-dir.js';
import type { TriggerCallback, TriggerContext, TriggerHandle } from '../triggers/types.js';
import { ADP_STOPPED_APPLICATION_EXIT, SYS_EXIT, SYS_EXIT_EXTENDED } from './elf-code.js';
import type { Fault, ResolvedMoment } from './enumerate.js';
import { inject } from './inject.js';
import type { Evidence } from './outcome.js';
import { MainThreadWatch, stopFrozenGuest } from './stop-handover.js';

/** Code whose execution ends a run: a detection or crash handler, or a semihosting call (exit). */
export interface Trap {
  name: string;
  pc: number;
  kind: 'detect' | 'crash' | 'exit';
}

/** A memory range read at the end of every run. */
export interface ObservedRegion {
  name: string;
  address: number;
  length: number;
}

/** A parameter written before the first instruction (e.g. `run_ticks`). */
export interface ParamWrite {
  address: number;
  size: 1 | 2 | 4;
  value: number;
}

/** What every session of a campaign shares. */
export interface SessionConfig {
  launch: LaunchOptions;
  params: ParamWrite[];
  prepare?: ((qemu: LaunchedQemu) => void | Promise<void>) | undefined;
  traps: Trap[];
  observe: ObservedRegion[];
  serial: boolean;
  /** Wall-clock limit of one run. */
  runTimeoutMs: number;
  /** Learned at run time and shared by all sessions: whether exit traps freeze exactly (registers readable). */
  capabilities: { exitTrapsExact?: boolean };
}

/** One run: a moment (with its hit count relative to the start state), the end of the window, and the fault (none: golden). */
export interface RunRequest {
  moment: ResolvedMoment;
  /** For PC and access moments: which hit, counted from the state the run starts in. */
  hit?: number;
  /** Absolute guest time at which the run is cut. */
  endNs: number;
  fault?: Fault;
}

/** What a run gives back besides its evidence. */
export interface RunReport {
  evidence: Evidence;
  /** Whether the moment was reached before the run ended. */
  reached: boolean;
  /** Guest time of the moment's freeze: time moments only (see {@link exactTime}). */
  momentNs?: number;
  /** Guest time of the moment's freeze as the framework reports it (approximate at PC and data freezes). */
  momentReportedNs?: number;
  /** Whether registers were exact at the moment (always for time moments; PC and data ones with exact triggers). */
  momentExact: boolean;
}

/** What the triggers of a run window can use. */
export interface WindowHost {
  qemu: LaunchedQemu;
  /** False once the run is over. */
  active(): boolean;
  /** Keeps a trigger for the rest of the run (cancelled at its end). */
  keep(handle: TriggerHandle): void;
  /** Memory bytes seen at moments by earlier runs of this worker. */
  seen: Map<string, number>;
  /** Serial evidence starts here (output so far is read first; `roundTrip`: QEMU answered something since the freeze). */
  markSerial(roundTrip: boolean): Promise<void>;
  /**
   * Ends the run here: call from a trigger callback; the guest stays frozen (the returned promise
   * settles when it is released) while the evidence is read and QEMU is asked to stop.
   */
  hold(timeNs?: number): Promise<void>;
  /** Ends the run here with `failure`, thrown once the guest is stopped (a callback must not throw: the run would go on). */
  fail(failure: unknown): Promise<void>;
}

/** Where a run was ended from a callback, and how to let the guest go. */
interface Held {
  trap?: Trap;
  exitCode?: number | undefined;
  timeNs?: number | undefined;
  /** A callback of ours failed (an injection that is not possible here). */
  failure?: unknown;
  release(): void;
}

interface ActiveRun {
  held?: Held;
  keep: TriggerHandle[];
  /** Called once, when the run is held. */
  onHeld(): void;
}

/** Why a run's wait ended. */
type RunEndCause = 'held' | 'exited' | 'timeout';

const PHYSICAL = { physical: true } as const;
const noop = () => undefined;

/**
 * The `-drive` argument attaching a snapshot image (QEMU splits options at commas). `cache=unsafe`
 * because every VM stop flushes the drives: with a flush per fault (an fdatasync of the image,
 * ~2 ms here) the stop cost as much as the rest of a fault run, and these images are scratch.
 */
export function snapshotDriveArgs(image: string): string[] {
  if (image.includes(',')) throw new InvalidArgumentError(`snapshot image path must not contain commas: ${image}`);
  return ['-drive', `if=none,id=qfsnapdrv,node-name=qfsnap,format=qcow2,cache=unsafe,file=${image}`];
}

/**
 * Whether a freeze's guest time is exact to the instruction. Only time freezes are: at a PC or data
 * freeze QEMU's virtual clock already counts the whole block being executed, whose length depends
 * on how it was translated (it differs between a fresh boot and a loaded snapshot), so such times
 * are never recorded as evidence.
 */
export function exactTime(ctx: TriggerContext): boolean {
  return ctx.kind === 'time';
}

/** Whether registers can be read at this freeze (time freezes always; PC freezes with exact PC triggers). */
export async function exactAt(ctx: TriggerContext): Promise<boolean> {
  if (ctx.kind === 'time') return true;
  try {
    await ctx.registers.get('pc');
    return true;
  } catch (err) {
    if (err instanceof InvalidArgumentError) return false;
    throw err;
  }
}

/** Arms `cb` at a moment (`hit` overrides the moment's own hit count). */
export function armMoment(qemu: LaunchedQemu, m: ResolvedMoment, hit: number | undefined, cb: TriggerCallback): Promise<TriggerHandle> {
  if (m.kind === 'time') return qemu.notify(m.ns, cb);
  if (m.kind === 'pc') return qemu.at(m.pc, cb, { hit: hit ?? m.hit });
  return armAccess(qemu, m, hit ?? m.hit, cb);
}

/**
 * Arms `cb` at the `hit`-th access of a data moment. The framework's watchpoints fire at every
 * access until cancelled, so earlier hits are counted here and the watchpoint goes at the one wanted.
 */
async function armAccess(
  qemu: LaunchedQemu,
  moment: Extract<ResolvedMoment, { kind: 'access' }>,
  hit: number,
  cb: TriggerCallback,
): Promise<TriggerHandle> {
  const watch = moment.access === 'write' ? qemu.onWrite : qemu.onRead;
  if (typeof watch !== 'function') {
    throw new ChannelUnavailableError(
      'data triggers',
      `the access moment '${moment.key}'`,
      'This build of the framework has no onWrite()/onRead(); use a time or PC moment.',
    );
  }
  let seen = 0;
  const handle: TriggerHandle = await watch.call(qemu, moment.address, moment.length, async (ctx) => {
    if (++seen !== hit) return;
    await handle.cancel();
    await cb(ctx);
  });
  return handle;
}

/**
 * A QEMU for a campaign's runs (one worker's, or the golden boot's). Not exported from the
 * package: `runCampaign` drives it.
 */
export class QemuSession {
  private readonly armed = new Map<Trap, TriggerHandle>();
  /** Memory bytes at moments (see {@link InjectionHost.seen}), shared with later sessions of a worker. */
  seen = new Map<string, number>();
  private active: ActiveRun | undefined;
  /** Guest time of the last semihosting exit seen, as reported (approximate: a PC freeze). */
  exitSeenAtNs: number | undefined;

  private readonly watch: MainThreadWatch;

  private constructor(
    readonly qemu: LaunchedQemu,
    /** The per-fault commands' monitor (snapshot sessions); otherwise they go through QMP. */
    private readonly monitor: { hmp: HmpMonitor; dir: PrivateDir } | undefined,
    private readonly config: SessionConfig,
    readonly image: string | undefined,
  ) {
    this.watch = new MainThreadWatch(qemu.process.pid);
  }

  /**
   * Launches QEMU (paused) for `config`. With `image`, attaches it for snapshots and opens the HMP
   * monitor the per-fault commands go through (see hmp-monitor.ts).
   */
  static async start(config: SessionConfig, image?: string): Promise<QemuSession> {
    // A private dir (0700) for the monitor's socket, gone with the session (or with this process).
    const dir = image ? await createPrivateDir() : undefined;
    const hmpPath = dir && join(dir.path, 'hmp.sock');
    const args = [...(config.launch.args ?? []), ...(image ? snapshotDriveArgs(image) : []), ...(hmpPath ? hmpMonitorArgs(hmpPath) : [])];
    let qemu: LaunchedQemu | undefined;
    try {
      // qtest (memory, including while frozen) and the serial port are needed; the gdbstub is not,
      // and one channel fewer is a faster start.
      qemu = await launch({ ...config.launch, args, channels: { gdb: false, ...config.launch.channels, qtest: true, serial: true } });
      const monitor = dir && hmpPath ? { hmp: await HmpMonitor.connect(hmpPath), dir } : undefined;
      return new QemuSession(qemu, monitor, config, image);
    } catch (err) {
      await qemu?.close().catch(noop);
      await dir?.remove();
      throw err;
    }
  }

  /** Whether QEMU still runs. */
  get alive(): boolean {
    return this.qemu.process.exitInfo === undefined;
  }

  /** Prepares a fresh boot: parameter writes, then the user's `prepare`. */
  async boot(): Promise<void> {
    for (const p of this.config.params) {
      const bytes = Buffer.alloc(p.size);
      bytes.writeUIntLE(p.value, 0, p.size);
      await this.qemu.writeBytes(p.address, bytes, PHYSICAL);
    }
    await this.config.prepare?.(this.qemu);
  }

  private hmp(command: string): Promise<string> {
    if (this.monitor) return this.monitor.hmp.execute(command);
    return this.qemu.qmp.execute<string>('human-monitor-command', { 'command-line': command });
  }

  /** Stops a guest frozen in a callback of ours; `release` lets the callback settle. */
  private stopFrozen(release: () => unknown): Promise<void> {
    return stopFrozenGuest(this.qemu, this.watch, () => this.hmp('stop'), release);
  }

  /** Saves the (stopped) VM as snapshot `tag`. */
  async save(tag: string): Promise<void> {
    const out = (await this.hmp(`savevm ${tag}`)).trim();
    if (out) throw snapshotError('save', tag, this.image, out);
  }

  /** Loads snapshot `tag` (the VM stays stopped). */
  async load(tag: string): Promise<void> {
    let out: string;
    try {
      out = (await this.hmp(`loadvm ${tag}`)).trim();
    } catch (err) {
      // The monitor's socket may close a moment before the process is reaped.
      await Promise.race([this.qemu.process.exited, sleep(2000)]);
      if (this.alive) throw err;
      // Seen on QEMU 7.2's lm3s6965evb: its SD card model asserts while loading any snapshot.
      const why = this.qemu.process.stderr.text().split('\n').slice(-1)[0] ?? '';
      throw new SnapshotError(
        `loading snapshot '${tag}' killed QEMU (${why}): this board cannot restore snapshots on this QEMU; run the campaign with reuse: 'fresh'`,
        { cause: err },
      );
    }
    if (out) throw snapshotError('load', tag, this.image, out);
  }

  /** `info mtree -f`, for checking targets against the memory map. */
  memoryTree(): Promise<string> {
    return this.hmp('info mtree -f');
  }

  /**
   * Runs from the current (stopped) state to a freeze at guest time `atNs`, then stops the VM
   * there (plus the rest of the block it froze in). Resolves with the freeze time and the time it
   * stopped at, or undefined if QEMU ended first.
   */
  async stopNear(atNs: number): Promise<{ freezeNs: number; stoppedNs: number } | undefined> {
    const q = this.qemu;
    let freezeNs = 0;
    let settle!: (value: { stopping: Promise<void> }) => void;
    const reached = new Promise<{ stopping: Promise<void> }>((resolve) => (settle = resolve));
    await q.notify(atNs, async (ctx) => {
      freezeNs = ctx.timeNs;
      // The guest goes on when this callback returns: only once the stop request is with the vCPU.
      await new Promise<void>((done) => settle({ stopping: this.stopFrozen(done) }));
    });
    await this.hmp('cont');
    const got = await Promise.race([reached, q.process.exited.then(() => undefined)]);
    if (!got) return undefined;
    await got.stopping;
    return { freezeNs, stoppedNs: await q.now() };
  }

  private async armTraps(): Promise<void> {
    for (const trap of this.config.traps) {
      if (this.armed.has(trap) || (trap.kind === 'exit' && this.config.capabilities.exitTrapsExact === false)) continue;
      this.armed.set(trap, await this.qemu.at(trap.pc, (ctx) => this.onTrap(trap, ctx)));
    }
  }

  /** The exit code of the semihosting call about to run, 'not-exit' for other calls, 'inexact' where registers cannot be read. */
  private async exitCode(ctx: TriggerContext): Promise<number | 'not-exit' | 'inexact'> {
    let regs: Record<string, number>;
    try {
      regs = await ctx.registers.all();
    } catch (err) {
      if (err instanceof InvalidArgumentError) return 'inexact';
      throw err;
    }
    const op = regs['r0'];
    const arg = regs['r1']!;
    if (op === SYS_EXIT) return arg === ADP_STOPPED_APPLICATION_EXIT ? 0 : 1;
    if (op !== SYS_EXIT_EXTENDED) return 'not-exit';
    const block = await this.qemu.readBytes(arg, 8, PHYSICAL);
    // As QEMU does: the code for an application exit, 1 for any other reason; the OS keeps 8 bits.
    return block.readUInt32LE(0) === ADP_STOPPED_APPLICATION_EXIT ? block.readUInt32LE(4) & 0xff : 1;
  }

  private async onTrap(trap: Trap, ctx: TriggerContext): Promise<void> {
    this.armed.delete(trap);
    let exitCode: number | undefined;
    if (trap.kind === 'exit') {
      const code = await this.exitCode(ctx);
      if (code === 'not-exit') return;
      this.exitSeenAtNs = ctx.timeNs;
      if (code === 'inexact') {
        // This plugin cannot show registers at PC freezes: let exits end QEMU from now on.
        this.config.capabilities.exitTrapsExact = false;
        for (const [t, handle] of this.armed) {
          if (t.kind !== 'exit') continue;
          this.armed.delete(t);
          void handle.cancel().catch(noop);
        }
        return;
      }
      this.config.capabilities.exitTrapsExact = true;
      exitCode = code;
    }
    const run = this.active;
    if (run && !run.held) await holdRun(run, { trap, exitCode, ...(exactTime(ctx) ? { timeNs: ctx.timeNs } : {}) });
    // Continue past the semihosting call instead of into it: it would end QEMU.
    if (trap.kind === 'exit') await ctx.registers.set('pc', trap.pc + 2);
  }

  private armMoment(req: RunRequest, cb: TriggerCallback): Promise<TriggerHandle> {
    return armMoment(this.qemu, req.moment, req.hit, cb);
  }

  /**
   * Waits until the serial output written before the current freeze has been read: it travels on
   * its own socket, written before QEMU answered anything asked after the freeze. So one answer
   * (any channel: `roundTrip` says whether one came already), then one turn of the event loop
   * (a reply's continuation may run before other sockets' data of the same poll is read).
   */
  private async settleSerial(roundTrip: boolean): Promise<void> {
    if (!roundTrip) await this.qemu.qmp.execute('query-status');
    await new Promise((resolve) => setImmediate(resolve));
  }

  /**
   * One run from the current stopped state: arms the moment (injecting `req.fault` there, if any),
   * runs to `req.endNs` or a trap or QEMU's end, reads the evidence, and stops the VM (unless
   * `thenClose`, for a QEMU about to be closed anyway).
   */
  async execute(req: RunRequest, options: { thenClose?: boolean } = {}): Promise<RunReport> {
    const report: RunReport = { evidence: { end: 'budget' }, reached: false, momentExact: false };
    report.evidence = await this.window({
      endNs: req.endNs,
      thenClose: options.thenClose,
      arm: async (host) => [
        await this.armMoment(req, async (ctx) => {
          report.reached = true;
          report.momentExact = await exactAt(ctx);
          report.momentReportedNs = ctx.timeNs;
          if (exactTime(ctx)) report.momentNs = ctx.timeNs;
          if (req.fault) {
            try {
              await inject(host, req.fault, ctx);
            } catch (err) {
              return host.fail(new CampaignConfigError(`cannot inject '${req.fault.id}': ${(err as Error).message}`));
            }
          }
          // Serial evidence covers the output from the moment on, whichever state the run started
          // from (the guest is frozen: the injection wrote nothing to it).
          await host.markSerial(req.fault !== undefined);
        }),
      ],
    });
    if (req.fault && report.momentNs !== undefined) report.evidence.injectedAtNs = report.momentNs;
    return report;
  }

  /**
   * Runs from the current stopped state until guest time `endNs`, a trap or QEMU's end, with the
   * triggers `arm` sets; returns the evidence and leaves the VM stopped (or, with `thenClose`,
   * running on, to be closed).
   */
  async window(options: {
    endNs: number;
    arm(host: WindowHost): Promise<TriggerHandle[]>;
    thenClose?: boolean | undefined;
  }): Promise<Evidence> {
    const q = this.qemu;
    await this.armTraps();
    let onHeld!: () => void;
    const held = new Promise<'held'>((resolve) => (onHeld = () => resolve('held')));
    const run: ActiveRun = { keep: [], onHeld };
    this.active = run;
    const chunks: string[] = [];
    const unsubscribe = this.config.serial ? q.serial.onData((text) => chunks.push(text)) : noop;
    let serialFrom = 0;
    const host: WindowHost = {
      qemu: q,
      active: () => this.active === run,
      keep: (h) => void run.keep.push(h),
      seen: this.seen,
      markSerial: async (roundTrip) => {
        if (!this.config.serial) return;
        await this.settleSerial(roundTrip);
        serialFrom = chunks.length;
      },
      hold: (timeNs) => holdRun(run, { timeNs }),
      fail: (failure) => holdRun(run, { failure }),
    };
    let end: RunEndCause | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      run.keep.push(...(await options.arm(host)));
      // Every early end is a callback that holds the guest frozen where it happened (the end of the
      // budget too), so evidence is read at that point and no poll adds latency.
      run.keep.push(await q.notify(options.endNs, (ctx) => holdRun(run, { timeNs: ctx.timeNs })));
      const exited = q.process.exited.then(() => 'exited' as const);
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.config.runTimeoutMs)));
      await this.hmp('cont');
      end = await Promise.race([held, exited, timedOut]);
      if (end === 'timeout') await this.pauseAfterTimeout();
      if (run.held?.failure) throw run.held.failure;
      return await this.evidence(end, run, chunks, () => serialFrom);
    } finally {
      clearTimeout(timer);
      this.active = undefined;
      unsubscribe();
      for (const handle of run.keep) await handle.cancel().catch(noop);
      // A QEMU about to be closed need not stop, but must not stay frozen: `quit` would wait for it.
      if (options.thenClose) run.held?.release();
      else if (this.alive) await this.stop(run);
    }
  }

  /** After the wall-clock limit: pause a running guest; a guest stuck in a callback leaves QEMU of no more use. */
  private async pauseAfterTimeout(): Promise<void> {
    if (this.active?.held) return;
    if ((await this.qemu.status()).status === 'frozen') await this.qemu.process.kill();
    else await this.qemu.stop();
  }

  private async evidence(end: RunEndCause, run: ActiveRun, chunks: string[], serialFrom: () => number): Promise<Evidence> {
    const q = this.qemu;
    let evidence: Evidence;
    if (end === 'held') {
      const h = run.held!;
      // Held without a trap: the end of the budget, or a caller's callback that ended the window.
      evidence = !h.trap
        ? { end: 'budget' }
        : h.trap.kind === 'exit'
          ? { end: 'exit', exitCode: h.exitCode }
          : { end: 'trap', trap: h.trap.name };
      if (h.timeNs !== undefined) evidence.timeNs = h.timeNs;
    } else if (end === 'timeout') {
      evidence = { end: 'timeout' };
    } else {
      evidence = this.endOfQemu();
      // Output QEMU wrote before it died is still on its way: wait for the port to close.
      await q.serial.waitFor('\u0000', { timeoutMs: 500, fresh: true }).catch(noop);
    }
    if (this.alive) {
      if (this.config.observe.length) {
        evidence.memory = {};
        for (const region of this.config.observe) {
          evidence.memory[region.name] = (await q.readBytes(region.address, region.length, PHYSICAL)).toString('hex');
        }
      }
      if (this.config.serial) await this.settleSerial(this.config.observe.length > 0);
    }
    if (this.config.serial) evidence.serial = chunks.slice(serialFrom()).join('');
    return evidence;
  }

  /** Evidence when QEMU itself ended: a guest exit, or QEMU's death (a signal, a fatal error). */
  private endOfQemu(): Evidence {
    const info = this.qemu.process.exitInfo;
    const stderr = this.qemu.process.stderr.text();
    const exitCode = info?.exitCode;
    if (info?.signal || exitCode === undefined || /qemu: fatal|Aborted|assertion|core dumped|Lockup/i.test(stderr)) {
      const lastLines = stderr.split('\n').slice(-3).join(' | ');
      return { end: 'qemu-died', error: `${info?.signal ?? `exit status ${exitCode}`}${lastLines ? `: ${lastLines}` : ''}` };
    }
    return { end: 'exit', exitCode };
  }

  /** Stops the VM after a run, so the next run can start from a snapshot. */
  private async stop(run: ActiveRun): Promise<void> {
    const q = this.qemu;
    try {
      const held = run.held;
      if (held) await this.stopFrozen(() => held.release());
      else if ((await q.status()).running) await q.stop();
    } catch {
      // A QEMU that does not stop (or ended while stopping) is of no more use: the next run
      // relaunches one.
      if (this.alive) await this.qemu.process.kill();
    }
  }

  /** Quits QEMU and removes its temp dirs. */
  async close(): Promise<void> {
    this.watch.close();
    this.monitor?.hmp.close();
    try {
      await this.qemu.close();
    } finally {
      await this.monitor?.dir.remove();
    }
  }
}

/**
 * Marks `run` as held at this freeze and waits until the guest is released. Only the first hold
 * counts: a later one (another trigger at the same freeze) returns at once.
 */
function holdRun(run: ActiveRun, info: Omit<Held, 'release'>): Promise<void> {
  if (run.held) return Promise.resolve();
  return new Promise<void>((release) => {
    run.held = { ...info, release };
    run.onHeld();
  });
}

function snapshotError(verb: 'save' | 'load', tag: string, image: string | undefined, message: string): SnapshotError {
  // QEMU reports a write that does not fit as "Input/output error" as often as ENOSPC or EFBIG.
  const full = /No space left|File too large|Disk quota|Input\/output error|ENOSPC|EFBIG|EIO/i.test(message);
  const hint = full
    ? ' — out of disk space? The disk holding the snapshot images may be full: free space, or point `snapshotDir` at a larger disk'
    : '';
  return new SnapshotError(
    `could not ${verb} snapshot '${tag}'${image ? ` (${image})` : ''}: ${message.replace(/^Error:\s*/i, '')}${hint}`,
  );
}
