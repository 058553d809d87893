import { InvalidArgumentError } from '../errors.js';
import { describeValue } from '../integers.js';
import type { QmpClient } from '../qmp/qmp-client.js';

/** A CPU, by index (0, 1, ...) or by QOM path (`/machine/unattached/device[0]`). */
export type CpuRef = number | string;

interface CpuInfo {
  'cpu-index': number;
  'qom-path': string;
  /** QEMU's target (`arm`, `aarch64`, `riscv32`, `riscv64`). */
  target?: string;
}

/** What {@link Cpus.info} tells about a CPU. */
export interface CpuDescription {
  index: number;
  qomPath: string;
  target: string | undefined;
}

/** Resolves {@link CpuRef}s to CPU indexes, from `query-cpus-fast` asked once. */
export class Cpus {
  private list: Promise<CpuInfo[]> | undefined;

  constructor(private readonly qmp: QmpClient) {}

  async index(cpu: CpuRef = 0): Promise<number> {
    return (await this.find(cpu))['cpu-index'];
  }

  /** The CPU's index, QOM path and QEMU target. */
  async info(cpu: CpuRef): Promise<CpuDescription> {
    const found = await this.find(cpu);
    return { index: found['cpu-index'], qomPath: found['qom-path'], target: found.target };
  }

  private async find(cpu: CpuRef): Promise<CpuInfo> {
    // Checked before asking QEMU, so a bad argument sends nothing.
    if (!(typeof cpu === 'number' && Number.isSafeInteger(cpu)) && typeof cpu !== 'string') {
      throw new InvalidArgumentError(`cpu must be an integer index or a QOM path, got ${describeValue(cpu)}`);
    }
    this.list ??= this.qmp.execute<CpuInfo[]>('query-cpus-fast');
    const asking = this.list;
    // A failed query (e.g. a timeout) is not the answer: ask again next time.
    const cpus = await asking.catch((err: unknown) => {
      if (this.list === asking) this.list = undefined;
      throw err;
    });
    const found = typeof cpu === 'number' ? cpus.find((c) => c['cpu-index'] === cpu) : cpus.find((c) => c['qom-path'] === cpu);
    if (found) return found;
    const known = cpus.map((c) => `${c['cpu-index']} (${c['qom-path']})`).join(', ');
    throw new InvalidArgumentError(`no CPU ${typeof cpu === 'number' ? `with index ${cpu}` : `at '${cpu}'`}; this machine has: ${known}`);
  }
}
