import { ChannelUnavailableError, InvalidArgumentError } from '../errors.js';
import type { QmpEvent } from '../qmp/events.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { FreezeServer, type FreezeServerOptions } from './freeze-server.js';
import { type Registers, whilePaused } from './registers.js';
import type { TriggerCallback, TriggerHandle } from './types.js';

const PLUGIN_HINT = 'Use launch(), which loads the qemu-fault plugin; a patched QEMU only offers time notifications.';

/**
 * Time notifications on a QEMU carrying the original framework's patch: `time-notify` arms a timer
 * on QEMU's virtual clock that pauses the VM and emits `TIME_NOTIFICATION`; the callback runs while
 * it is paused, then `cont` resumes it. Same semantics as the plugin's notifications, through QMP
 * alone. The patch knows nothing of PC or data triggers nor of instruction counts.
 */
export class PatchedTimeNotifier extends FreezeServer {
  private readonly callbacks = new Map<number, TriggerCallback>();
  private frozenAtNs: number | undefined;
  private started = false;
  private serving: Promise<void> = Promise.resolve();

  constructor(
    private readonly qmp: QmpClient,
    /** Register access while the VM is paused (the gdbstub's), when there is one. */
    private readonly pausedRegisters: Registers | undefined,
    options: FreezeServerOptions,
  ) {
    super(options);
    qmp.events.on('RESUME', () => {
      this.started = true;
    });
    qmp.events.on('TIME_NOTIFICATION', (event) => {
      this.serving = this.serving.then(() => this.onNotification(event));
    });
  }

  get frozen(): boolean {
    return this.frozenAtNs !== undefined;
  }

  knownTimeNs(): number | undefined {
    return this.frozenAtNs ?? (this.started ? undefined : 0);
  }

  async now(): Promise<number> {
    const known = this.knownTimeNs();
    if (known !== undefined) return known;
    throw new ChannelUnavailableError(
      'qemu-fault plugin',
      'now() while the guest runs',
      `The patched time-notify command reports time only at notifications. ${PLUGIN_HINT}`,
    );
  }

  async instructions(): Promise<bigint> {
    throw new ChannelUnavailableError('qemu-fault plugin', 'instructions()', PLUGIN_HINT);
  }

  async notify(timeNs: number, callback: TriggerCallback): Promise<TriggerHandle> {
    const known = this.knownTimeNs();
    if (known !== undefined && timeNs < known) {
      throw new InvalidArgumentError(
        `guest time ${timeNs} ns is in the past (the guest is at ${known} ns); use { relative: true } for "from now"`,
      );
    }
    const id = this.nextId++;
    this.callbacks.set(id, callback);
    await this.qmp.execute('time-notify', { event_id: id, time_ns: timeNs, pause: true });
    this.options.record('notify', `notify #${id} armed for ${timeNs}ns`, known);
    // The patch cannot disarm: a cancelled notification still pauses the VM, and is just resumed.
    return this.handle(id, async () => void this.callbacks.delete(id));
  }

  async atPc(): Promise<TriggerHandle> {
    throw new ChannelUnavailableError('qemu-fault plugin', 'at()', PLUGIN_HINT);
  }

  async watch(): Promise<TriggerHandle> {
    throw new ChannelUnavailableError('qemu-fault plugin', 'data triggers', PLUGIN_HINT);
  }

  registers(stopped: () => boolean): Registers {
    // Handed to every callback: without a gdbstub it only fails when a callback actually uses it.
    const registers =
      this.pausedRegisters ??
      unavailable(new ChannelUnavailableError('gdbstub', 'registers', 'Start QEMU with -gdb and pass it to connect().'));
    return whilePaused(registers, () => this.frozen || stopped());
  }

  async release(): Promise<void> {
    if (this.frozenAtNs === undefined) return;
    this.frozenAtNs = undefined;
    await this.qmp.execute('cont');
  }

  /** The patch paused the VM for the notification: it stays paused, the freeze is over. */
  async endFrozenStopped(): Promise<void> {
    this.frozenAtNs = undefined;
  }

  private async onNotification(event: QmpEvent): Promise<void> {
    const id = Number(event.data['event_id']);
    const timeNs = Number(event.data['time_ns']);
    this.frozenAtNs = timeNs;
    const callback = this.callbacks.get(id);
    this.callbacks.delete(id);
    let error: unknown;
    if (callback) {
      try {
        const pc = this.pausedRegisters ? await this.pausedRegisters.get('pc') : 0;
        await this.runCallback(id, callback, {
          kind: 'time',
          timeNs,
          instructions: -1n,
          pc: Number(pc),
          cpu: 0,
          registers: this.registers(() => true),
        });
      } catch (err) {
        error = err;
      }
    }
    if (this.afterFreeze(error) === 'stay') return;
    await this.release().catch(() => undefined);
  }
}

function unavailable(error: Error): Registers {
  const fail = () => Promise.reject(error);
  return { get: fail, set: fail, all: fail };
}
