import { type Architecture, architectureOf } from '../arch/index.js';
import { UnsupportedError } from '../errors.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import type { Cpus } from './cpus.js';

/**
 * The architecture of each CPU of the machine, asked once per CPU: QEMU's target from
 * `query-cpus-fast`, and for ARM the CPU's QOM type (M profile or A/R; the ZynqMP's R5s are
 * 32-bit CPUs in `qemu-system-aarch64`).
 */
export class MachineArchitectures {
  private readonly known = new Map<number, Promise<Architecture>>();

  constructor(
    private readonly qmp: QmpClient,
    private readonly cpus: Cpus,
  ) {}

  /** The architecture of CPU `index`. */
  of(index: number): Promise<Architecture> {
    let found = this.known.get(index);
    if (!found) {
      found = this.ask(index);
      this.known.set(index, found);
      // A failed question (a timeout) is not the answer: ask again next time.
      found.catch(() => this.known.delete(index));
    }
    return found;
  }

  private async ask(index: number): Promise<Architecture> {
    const cpu = await this.cpus.info(index);
    const target = cpu.target ?? '';
    const type =
      target === 'arm' || target === 'aarch64'
        ? await this.qmp.execute<string>('qom-get', { path: cpu.qomPath, property: 'type' })
        : undefined;
    const arch = architectureOf(target, type);
    if (!arch)
      throw new UnsupportedError(
        'registers',
        `qemu-fault knows no architecture for QEMU target '${target}' (CPU ${index}${type ? `, ${type}` : ''})`,
      );
    return arch;
  }
}
