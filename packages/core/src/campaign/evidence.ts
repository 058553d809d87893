/**
 * What a run leaves behind: how it ended, the observed memory and the serial output from the
 * moment on. Read while the guest is still held where the run ended.
 */
import type { LaunchedQemu } from '../launched/launched-qemu.js';
import type { TrapHit } from './exit-traps.js';
import type { Evidence } from './outcome.js';

/** A memory range read at the end of every run. */
export interface ObservedRegion {
  name: string;
  address: number;
  length: number;
}

/** How a run ended: held at a freeze (a trap, the end of the budget, a caller's callback), out of wall time, or with QEMU. */
export type RunEnding =
  | { kind: 'held'; trap?: TrapHit | undefined; timeNs?: number | undefined }
  | { kind: 'timeout' }
  | { kind: 'exited' };

const PHYSICAL = { physical: true } as const;
const noop = () => undefined;

/**
 * Waits until the serial output written before the current freeze has been read: it travels on
 * its own socket, written before QEMU answered anything asked after the freeze. So one answer
 * (any channel: `roundTrip` says whether one came already), then one turn of the event loop
 * (a reply's continuation may run before other sockets' data of the same poll is read).
 */
export async function settleSerial(qemu: LaunchedQemu, roundTrip: boolean): Promise<void> {
  if (!roundTrip) await qemu.qmp.execute('query-status');
  await new Promise((resolve) => setImmediate(resolve));
}

/** The serial output of one run: what came before its start state (`prefix`), then what it writes from a mark on. */
export class SerialEvidence {
  private readonly chunks: string[] = [];
  private from = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly qemu: LaunchedQemu,
    private readonly prefix = '',
  ) {
    this.unsubscribe = qemu.serial.onData((text) => this.chunks.push(text));
  }

  /** Evidence starts here: the output so far is read first (`roundTrip`: QEMU answered something since the freeze). */
  async mark(roundTrip: boolean): Promise<void> {
    await settleSerial(this.qemu, roundTrip);
    this.from = this.chunks.length;
  }

  text(): string {
    return this.prefix + this.chunks.slice(this.from).join('');
  }

  dispose(): void {
    this.unsubscribe();
  }
}

/** Reads a run's evidence: its end, then (QEMU alive) the observed memory, then the serial output. */
export async function readEvidence(
  qemu: LaunchedQemu,
  ending: RunEnding,
  observe: readonly ObservedRegion[],
  serial: SerialEvidence | undefined,
): Promise<Evidence> {
  let evidence: Evidence;
  if (ending.kind === 'held') {
    const hit = ending.trap;
    // Held without a trap: the end of the budget, or a caller's callback that ended the run.
    evidence = !hit
      ? { end: 'budget' }
      : hit.trap.kind === 'exit'
        ? { end: 'exit', exitCode: hit.exitCode }
        : { end: 'trap', trap: hit.trap.name };
    const timeNs = hit ? hit.timeNs : ending.timeNs;
    if (timeNs !== undefined) evidence.timeNs = timeNs;
  } else if (ending.kind === 'timeout') {
    evidence = { end: 'timeout' };
  } else {
    evidence = endOfQemu(qemu);
    // Output QEMU wrote before it died is still on its way: wait for the port to close.
    await qemu.serial.waitFor('\u0000', { timeoutMs: 500, fresh: true }).catch(noop);
  }
  if (qemu.process.exitInfo === undefined) {
    if (observe.length) evidence.memory = await readRegions(qemu, observe);
    if (serial) await settleSerial(qemu, observe.length > 0);
  }
  if (serial) evidence.serial = serial.text();
  return evidence;
}

/**
 * Reads the observed regions, by name in their order: regions that touch or overlap are read as
 * one span (one round trip each span; no byte outside them is read, so a device's registers are
 * never read unasked).
 */
async function readRegions(qemu: LaunchedQemu, observe: readonly ObservedRegion[]): Promise<Record<string, string>> {
  const sorted = [...observe].sort((a, b) => a.address - b.address);
  const spans: Array<{ address: number; end: number; regions: ObservedRegion[] }> = [];
  for (const region of sorted) {
    const last = spans.at(-1);
    if (last && region.address <= last.end) {
      last.end = Math.max(last.end, region.address + region.length);
      last.regions.push(region);
    } else spans.push({ address: region.address, end: region.address + region.length, regions: [region] });
  }
  const bytes = new Map<ObservedRegion, string>();
  for (const span of spans) {
    const data = await qemu.readBytes(span.address, span.end - span.address, PHYSICAL);
    for (const r of span.regions)
      bytes.set(r, data.subarray(r.address - span.address, r.address - span.address + r.length).toString('hex'));
  }
  return Object.fromEntries(observe.map((r) => [r.name, bytes.get(r)!]));
}

/** Evidence when QEMU itself ended: a guest exit, or QEMU's death (a signal, a fatal error). */
function endOfQemu(qemu: LaunchedQemu): Evidence {
  const info = qemu.process.exitInfo;
  const stderr = qemu.process.stderr.text();
  const exitCode = info?.exitCode;
  if (info?.signal || exitCode === undefined || /qemu: fatal|Aborted|assertion|core dumped|Lockup/i.test(stderr)) {
    const lastLines = stderr.split('\n').slice(-3).join(' | ');
    return { end: 'qemu-died', error: `${info?.signal ?? `exit status ${exitCode}`}${lastLines ? `: ${lastLines}` : ''}` };
  }
  return { end: 'exit', exitCode };
}
