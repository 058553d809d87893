import { HmpError } from '../errors.js';
import { MainThreadWatch } from '../launch/main-thread-watch.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import type { FreezeServer } from '../triggers/freeze-server.js';
import type { FrameworkChannels, HumanMonitor, RunStatus } from './options.js';
import { stopHeldGuest } from './stop-held.js';

/** What run control drives. */
export interface RunControlChannels {
  qmp: QmpClient;
  hmp: HumanMonitor | undefined;
  engine: FreezeServer | undefined;
  process: FrameworkChannels['process'];
}

/**
 * `cont`, `stop` and the run state. A guest frozen by a trigger is resumed by releasing it, not by
 * QMP. With a human monitor, `cont` and `stop` go through it: QEMU 7.2 serves a readline monitor
 * from its main loop, while QMP hops through a monitor I/O thread (0.15 ms against 0.25–0.45 ms
 * per `stop` measured, and none of that thread's CPU), which a campaign pays on every fault.
 */
export class RunControl {
  /** Whether the guest runs, as far as QMP's STOP/RESUME events and our own commands tell. */
  running: boolean;
  private watch: MainThreadWatch | undefined;
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly ch: RunControlChannels,
    running: boolean,
  ) {
    this.running = running;
    this.unsubscribe = [
      ch.qmp.events.on('STOP', () => {
        this.running = false;
      }),
      ch.qmp.events.on('RESUME', () => {
        this.running = true;
      }),
    ];
  }

  /** Whether a trigger holds the guest frozen right now. */
  get frozen(): boolean {
    return this.ch.engine?.frozen ?? false;
  }

  async cont(): Promise<void> {
    if (this.ch.engine?.frozen) return this.ch.engine.release();
    await this.command('cont');
    this.running = true;
  }

  async stop(): Promise<void> {
    if (this.ch.engine?.frozen) return;
    await this.command('stop');
    this.running = false;
  }

  async status(): Promise<RunStatus> {
    if (this.ch.engine?.frozen) return { running: false, status: 'frozen' };
    const s = await this.ch.qmp.execute<RunStatus>('query-status');
    this.running = s.running;
    return { running: s.running, status: s.status };
  }

  /** A held guest becomes a stopped VM (see stop-held.ts); any other guest is paused as by {@link stop}. */
  async stopHeld(): Promise<void> {
    const engine = this.ch.engine;
    if (!engine?.frozen) return this.stop();
    this.watch ??= new MainThreadWatch(this.ch.process?.pid);
    const watch = this.watch;
    await engine.endFrozenStopped((release) =>
      stopHeldGuest({ watch, sendStop: () => this.command('stop'), release, exited: this.ch.process?.exited }),
    );
    this.running = false;
  }

  /** An HMP command line: through the human monitor if there is one, else QMP's `human-monitor-command`. */
  hmp(command: string): Promise<string> {
    if (this.ch.hmp) return this.ch.hmp.execute(command);
    return this.ch.qmp.execute<string>('human-monitor-command', { 'command-line': command });
  }

  close(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.watch?.close();
  }

  private async command(verb: 'cont' | 'stop'): Promise<void> {
    if (!this.ch.hmp) {
      await this.ch.qmp.execute(verb);
      return;
    }
    const output = (await this.ch.hmp.execute(verb)).trim();
    if (output) throw new HmpError(verb, output);
  }
}
