import { InvalidArgumentError } from '../errors.js';
import { checkAddress, checkTransferLength } from '../integers.js';
import type { CpuRef, Cpus } from './cpus.js';
import type { InjectionTrace } from './injection-trace.js';
import type { MemoryAccess } from './memory-access.js';
import type { BytesOptions } from './options.js';
import {
  type AccessSize,
  type Address,
  checkSize,
  decodeValue,
  type Endianness,
  encodeValue,
  formatHex,
  toUnsigned,
  type ValueOf,
  type WritableValue,
} from './values.js';

/**
 * The framework's memory calls: arguments checked before anything is sent, values in the target's
 * byte order, every write (and read) in the injection trace. {@link MemoryAccess} picks the channel.
 */
export class GuestMemory {
  constructor(
    private readonly access: MemoryAccess,
    private readonly cpus: Cpus,
    private readonly endianness: Endianness,
    private readonly trace: InjectionTrace,
  ) {}

  async read<S extends AccessSize>(address: Address, size: S, cpu: CpuRef): Promise<ValueOf<S>> {
    checkSize(size);
    const addr = checkAddress(address, size);
    const index = await this.cpus.index(cpu);
    const value = decodeValue(await this.access.readVirtual(addr, size, index), size, this.endianness);
    this.trace.record('read', `read @${formatHex(addr)} size ${size} value ${formatHex(value)} from cpu ${index}`);
    return value;
  }

  async write<S extends AccessSize>(address: Address, value: WritableValue<S>, size: S, cpu: CpuRef): Promise<void> {
    checkSize(size);
    const addr = checkAddress(address, size);
    const v = toUnsigned(value, size);
    const index = await this.cpus.index(cpu);
    await this.access.writeVirtual(addr, encodeValue(v, size, this.endianness), index);
    this.trace.record('write', `write @${formatHex(addr)} size ${size} value ${formatHex(v)} from cpu ${index}`);
  }

  async readPhysical<S extends AccessSize>(address: Address, size: S): Promise<ValueOf<S>> {
    checkSize(size);
    const addr = checkAddress(address, size);
    const value = decodeValue(await this.access.readPhysical(addr, size), size, this.endianness);
    this.trace.record('read', `read @${formatHex(addr)} size ${size} value ${formatHex(value)} physical`);
    return value;
  }

  async writePhysical<S extends AccessSize>(address: Address, value: WritableValue<S>, size: S): Promise<void> {
    checkSize(size);
    const addr = checkAddress(address, size);
    const v = toUnsigned(value, size);
    await this.access.writePhysical(addr, encodeValue(v, size, this.endianness));
    this.trace.record('write', `write @${formatHex(addr)} size ${size} value ${formatHex(v)} physical`);
  }

  async readBytes(address: Address, length: number, options: BytesOptions): Promise<Buffer> {
    checkTransferLength(length);
    const addr = checkAddress(address, length);
    if (length === 0) return Buffer.alloc(0);
    if (options.physical) return this.access.readPhysical(addr, length);
    return this.access.readVirtual(addr, length, await this.cpus.index(options.cpu));
  }

  async writeBytes(address: Address, data: Uint8Array, options: BytesOptions): Promise<void> {
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a Buffer or Uint8Array');
    const addr = checkAddress(address, data.length);
    if (data.length === 0) return;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
    if (options.physical) await this.access.writePhysical(addr, buf);
    else await this.access.writeVirtual(addr, buf, await this.cpus.index(options.cpu));
    this.trace.record('write', `write @${formatHex(addr)} ${data.length} bytes${options.physical ? ' physical' : ''}`);
  }
}
