import { ChannelUnavailableError, InvalidArgumentError } from '../errors.js';
import type { GdbClient } from '../gdb/gdb-client.js';
import type { PluginChannel } from '../plugin/plugin-channel.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import type { QtestClient } from '../qtest/qtest-client.js';

/** The channels memory can be reached through, and when each may be used. */
export interface MemoryChannels {
  qmp: QmpClient;
  qtest: QtestClient | undefined;
  gdb: GdbClient | undefined;
  /** The gdbstub may only be spoken to while the VM is stopped: a byte sent to a running VM stops it. */
  gdbUsable(): boolean;
  /** Whether this QEMU has the patched `memread`/`memwrite`/`pmemread`/`pmemwrite` commands (asked on first use). */
  patched(): Promise<boolean>;
  /** Our plugin, and whether it holds the guest frozen: a frozen vCPU can read memory itself. */
  frozen?: { plugin: PluginChannel | undefined; held(): boolean };
}

// The patched commands move at most 8 bytes per call.
const PATCHED_CHUNK = 8;
// HMP `x` prints one line per 8..16 items; keep its reply small enough to parse quickly.
const HMP_CHUNK = 512;

/**
 * Routes guest memory accesses to the best channel this QEMU offers:
 * the patched QMP commands when present; otherwise the gdbstub for a CPU's view while the VM is
 * stopped, HMP `x`/`xp` for reads while it runs (or is frozen by our plugin), and qtest for the
 * system address space.
 */
export class MemoryAccess {
  constructor(private readonly ch: MemoryChannels) {}

  /** Reads through CPU `cpuIndex`'s view (its MMU, its private regions such as the SCS on Cortex-M). */
  async readVirtual(address: bigint, length: number, cpuIndex: number): Promise<Buffer> {
    if (await this.ch.patched()) return this.patchedRead('memread', address, length, { 'cpu-index': cpuIndex });
    if (this.ch.gdb && this.ch.gdbUsable()) return this.ch.gdb.readMemory(address, length, cpuIndex);
    try {
      return await this.hmpRead('x', address, length, cpuIndex);
    } catch (err) {
      // QEMU 10.0's `x` cannot read RV32 addresses from 0x80000000 on (RAM on every RISC-V board):
      // a frozen vCPU reads them itself. Only then, since the vCPU thread must not touch MMIO.
      const fallback = err instanceof InvalidArgumentError && /Cannot access memory/.test(err.message);
      const plugin = this.ch.frozen?.plugin;
      if (!fallback || !plugin || plugin.hello.memory === 'none' || !this.ch.frozen?.held()) throw err;
      return plugin.readMemory(cpuIndex, address, length);
    }
  }

  /**
   * Writes through CPU `cpuIndex`'s view. While the VM runs (or our plugin holds it frozen) no
   * channel of stock QEMU offers a CPU view for writes, so the system address space is used: the
   * same on MMU-less cores. (The plugin could write from the vCPU's view, but a device register
   * touched from the vCPU thread outside an I/O instruction makes QEMU abort with "Bad icount read".)
   */
  async writeVirtual(address: bigint, data: Buffer, cpuIndex: number): Promise<void> {
    if (await this.ch.patched()) return this.patchedWrite('memwrite', address, data, { 'cpu-index': cpuIndex });
    if (this.ch.gdb && this.ch.gdbUsable()) return this.ch.gdb.writeMemory(address, data, cpuIndex);
    if (this.ch.qtest) return this.ch.qtest.writeBytes(address, data);
    throw new ChannelUnavailableError('gdbstub or qtest', 'write()', 'Start QEMU with -gdb or -qtest, or launch it with launch().');
  }

  /** Reads the system address space (RAM and MMIO, no MMU). */
  async readPhysical(address: bigint, length: number): Promise<Buffer> {
    if (await this.ch.patched()) return this.patchedRead('pmemread', address, length, {});
    if (this.ch.qtest) return this.ch.qtest.readBytes(address, length);
    return this.hmpRead('xp', address, length, 0);
  }

  /** Writes the system address space (RAM and MMIO, no MMU). */
  async writePhysical(address: bigint, data: Buffer): Promise<void> {
    if (await this.ch.patched()) return this.patchedWrite('pmemwrite', address, data, {});
    if (this.ch.qtest) return this.ch.qtest.writeBytes(address, data);
    throw new ChannelUnavailableError(
      'qtest',
      'writePhysical()',
      'Start QEMU with -accel tcg -qtest unix:PATH,server=on,wait=off -qtest-log /dev/null, or launch it with launch().',
    );
  }

  private async patchedRead(command: string, address: bigint, length: number, extra: object): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let off = 0; off < length; off += PATCHED_CHUNK) {
      const size = Math.min(PATCHED_CHUNK, length - off);
      const reply = await this.ch.qmp.execute<{ bytes: number[] }>(command, { addr: Number(address + BigInt(off)), size, ...extra });
      parts.push(Buffer.from(reply.bytes));
    }
    return Buffer.concat(parts);
  }

  private async patchedWrite(command: string, address: bigint, data: Buffer, extra: object): Promise<void> {
    for (let off = 0; off < data.length; off += PATCHED_CHUNK) {
      const bytes = [...data.subarray(off, off + PATCHED_CHUNK)];
      await this.ch.qmp.execute(command, { addr: Number(address + BigInt(off)), bytes, ...extra });
    }
  }

  private async hmpRead(command: 'x' | 'xp', address: bigint, length: number, cpuIndex: number): Promise<Buffer> {
    const out: number[] = [];
    for (let off = 0; off < length; off += HMP_CHUNK) {
      const count = Math.min(HMP_CHUNK, length - off);
      const line = `${command} /${count}xb 0x${(address + BigInt(off)).toString(16)}`;
      const text = await this.ch.qmp.execute<string>('human-monitor-command', { 'command-line': line, 'cpu-index': cpuIndex });
      out.push(...parseHmpBytes(text, line));
    }
    return Buffer.from(out);
  }
}

/** Extracts the bytes from HMP `x /Nxb` output (`<addr>: 0x01 0x02 ...` lines). */
export function parseHmpBytes(text: string, commandLine: string): number[] {
  const bytes: number[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    for (const token of line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)) {
      if (/^0x[0-9a-f]{1,2}$/i.test(token)) bytes.push(Number.parseInt(token, 16));
    }
  }
  if (bytes.length === 0) throw new InvalidArgumentError(`'${commandLine}' read nothing: ${text.trim() || 'QEMU printed nothing'}`);
  return bytes;
}
