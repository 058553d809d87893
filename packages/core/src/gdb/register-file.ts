import { GdbError, InvalidArgumentError } from '../errors.js';
import { decodeRegister, encodeRegister, type RegisterValue, registerHexLength } from './register-value.js';
import type { RspSession } from './rsp-session.js';
import type { RegisterInfo, TargetDescription } from './target-description.js';

/** Reads the target description (inside the session's `exclusive`); `undefined` where the stub offers none. */
export type DescriptionLoader = () => Promise<TargetDescription | undefined>;

/** The `g` packet split by register. */
interface AllRegisters {
  text: string;
  values: Map<string, RegisterValue>;
  /** Where each register's hex digits start in `text`. */
  offsets: Map<string, number>;
}

/**
 * The target's registers as its XML target description names them, read with `p` and written
 * with `P`, or through the whole `g`/`G` block where the stub lacks those. Architecture-neutral:
 * widths come from the description, values up to 32 bits are `number`s and wider ones `bigint`s.
 * Every call must run inside the session's `exclusive`.
 *
 * The description is read on first use, not on connecting: it takes several round trips, and a
 * session nobody uses (launch() connects the gdbstub, and reads registers through our plugin) never needs it.
 */
export class RegisterFile {
  private pMissing = false;
  private bigPMissing = false;
  private description: Promise<TargetDescription | undefined> | undefined;

  constructor(
    private readonly rsp: RspSession,
    private readonly readDescription: DescriptionLoader,
    private readonly byteOrder: 'little' | 'big',
  ) {}

  /** The registers the target description declares, by ascending number (empty if the stub offers none). */
  async list(): Promise<readonly RegisterInfo[]> {
    return (await this.described())?.registers ?? [];
  }

  /** The register called `name` (case-insensitively), if the target declares one. */
  async find(name: string): Promise<RegisterInfo | undefined> {
    return (await this.described())?.find(name);
  }

  /** @throws {InvalidArgumentError} the target declares no register called `name`. */
  async get(name: string): Promise<RegisterInfo> {
    if (typeof name !== 'string') throw new InvalidArgumentError('register name must be a string');
    const reg = await this.find(name);
    if (reg) return reg;
    const known = (await this.list()).map((r) => r.name);
    throw new InvalidArgumentError(
      `no register '${name}' in the target description; ${known.length ? `known: ${known.join(', ')}` : 'the stub offers no target description'}`,
    );
  }

  async read(reg: RegisterInfo): Promise<RegisterValue> {
    if (!this.pMissing) {
      const packet = `p${reg.regnum.toString(16)}`;
      const reply = await this.rsp.request(packet);
      if (reply !== '') {
        if (/x/i.test(reply)) throw new GdbError(packet, reply, `register ${reg.name} is unavailable`);
        return decodeRegister(reply, reg.bitsize, this.byteOrder);
      }
      this.pMissing = true;
    }
    const value = (await this.readAll()).values.get(reg.name);
    if (value === undefined) throw new GdbError('p', '', `register ${reg.name} is not in the 'g' packet and 'p' is not supported`);
    return value;
  }

  /** `value` as {@link write} takes it. @throws {InvalidArgumentError} the value does not fit the register. */
  encode(reg: RegisterInfo, value: RegisterValue): string {
    return encodeRegister(value, reg.bitsize, this.byteOrder, reg.name);
  }

  /** Writes a value {@link encode}d for `reg`. */
  async write(reg: RegisterInfo, hex: string): Promise<void> {
    if (!this.bigPMissing) {
      const packet = `P${reg.regnum.toString(16)}`;
      const reply = await this.rsp.request(`${packet}=${hex}`);
      if (reply === 'OK') return;
      if (reply !== '') throw new GdbError(packet, reply);
      this.bigPMissing = true;
    }
    const { text, offsets } = await this.readAll();
    const at = offsets.get(reg.name);
    if (at === undefined) throw new GdbError('P', '', `register ${reg.name} is not in the 'g' packet and 'P' is not supported`);
    await this.rsp.requestOk(`G${text.slice(0, at)}${hex}${text.slice(at + hex.length)}`);
  }

  /** Reads the description unless it was read already; a read that failed is tried again next time. */
  async load(): Promise<void> {
    await this.described();
  }

  /** The description, read once. */
  private described(): Promise<TargetDescription | undefined> {
    this.description ??= this.readDescription().catch((err: unknown) => {
      this.description = undefined;
      throw err;
    });
    return this.description;
  }

  /** Reads `g` and splits it by the target description: registers in regnum order until the data runs out. */
  async readAll(): Promise<AllRegisters> {
    const text = await this.rsp.requestData('g');
    const values = new Map<string, RegisterValue>();
    const offsets = new Map<string, number>();
    let at = 0;
    for (const reg of await this.list()) {
      const len = registerHexLength(reg.bitsize);
      if (at + len > text.length) break;
      const hex = text.slice(at, at + len);
      offsets.set(reg.name, at);
      // 'x' digits mark a value the stub cannot provide.
      if (!/x/i.test(hex)) values.set(reg.name, decodeRegister(hex, reg.bitsize, this.byteOrder));
      at += len;
    }
    return { text, values, offsets };
  }
}
