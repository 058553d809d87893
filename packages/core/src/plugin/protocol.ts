/**
 * The qemu-fault TCG plugin's line protocol, as data: commands to text, text to replies and
 * events. Pure functions, no I/O (see packages/core/plugin/DESIGN.md, "Protocol").
 */
import { ProtocolError } from '../errors.js';

/** Protocol revision this side speaks (the `hello` line's version). */
export const PLUGIN_PROTOCOL = 2;

/** What a refusal is about; the plugin sends one of these before its message. */
export type PluginErrorClass = 'usage' | 'argument' | 'state' | 'unsupported' | 'access';
const ERROR_CLASSES: readonly PluginErrorClass[] = ['usage', 'argument', 'state', 'unsupported', 'access'];

/** What the plugin says right after it connects: what this QEMU lets it do. */
export interface PluginHello {
  /** Plugin protocol revision. */
  protocol: number;
  /** Plugin API version the plugin was built for. */
  api: number;
  /** Plugin API versions this QEMU accepts. */
  qemuApi: { min: number; cur: number };
  /** QEMU's target: `arm`, `aarch64`, `riscv32`, `riscv64`. */
  target: string;
  /** vCPUs the machine may have. */
  vcpus: number;
  /** How instruction targets become exact: one-instruction blocks (internals) or re-instrumentation. */
  precise: 'one-insn' | 'flush';
  /** Guest time (QEMU_CLOCK_VIRTUAL): `vtime`, `arm-vtime`. */
  clock: boolean;
  /** Registers at freezes: read and written, read only, or not at all. */
  registers: 'rw' | 'r' | 'none';
  /** The pc can be written at a freeze (a jump). */
  setPc: boolean;
  /** Registers while the VM is stopped by QMP (not frozen). */
  stoppedRegisters: boolean;
  /** PC triggers: `split` blocks (exact, with the internals) or instruction `hook`s. */
  pcTriggers: 'split' | 'hook';
  /** Data watchpoints: `replay` the access (internals), freeze at the `next` instruction, or `none`. */
  watch: 'replay' | 'next' | 'none';
  /** Guest memory at freezes. */
  memory: 'rw' | 'r' | 'none';
  /**
   * Whether the vCPU index of a freeze (and of per-vCPU counts and filters) is the vCPU that ran:
   * `block` on a QEMU whose callbacks are told the vCPU that translated the block (API 3 on,
   * several vCPUs on one thread) and without the internals that say which one runs.
   */
  cpuIndex: 'exact' | 'block';
  /** QEMU internals the plugin looked for and did not find. */
  missing: string[];
}

/** The guest access that fired a watchpoint. */
export interface PluginWatchHit {
  kind: 'read' | 'write';
  /** Address of the whole access (may start before the watched range). */
  address: bigint;
  /** Bytes accessed (1, 2, 4, 8). */
  size: number;
  /** Little-endian value of the accessed bytes right after the access; absent for MMIO. */
  value?: bigint;
  /** PC of the instruction that made the access. The freeze is right after that instruction. */
  pc: bigint;
  /** The access went to MMIO. */
  io: boolean;
  /** The freeze is later than right after the accessing instruction (a store-exclusive). */
  late: boolean;
}

/** A vCPU froze right before instruction `count` (counted over all vCPUs from QEMU start). */
export interface PluginHit {
  count: bigint;
  pc: bigint;
  /** Registers are readable (and exact) at this freeze. */
  exact: boolean;
  tokens: string[];
  /** The vCPU that froze. */
  cpu: number;
  /** Instructions that vCPU started. */
  cpuCount: bigint;
  /** Host CLOCK_MONOTONIC (ns) when the vCPU froze. */
  frozenAtNs?: bigint;
  /** Host CLOCK_MONOTONIC when the vCPU last left a freeze (0 before the first). */
  lastWakeNs?: bigint;
  /** Set for a guest-time freeze: QEMU_CLOCK_VIRTUAL when the timer ran. */
  vtimeNs?: bigint;
  /** `main` if the guest was idle when the timer ran (it freezes at its first instruction after waking). */
  vtimeThread?: 'vcpu' | 'main';
  /** Set when a watchpoint fired. */
  watch?: PluginWatchHit;
}

/** One instruction of an execution trace (`arm-trace`). */
export interface TracedInstruction {
  cpu: number;
  pc: bigint;
  /** Its index among all instructions started since QEMU started (all vCPUs). */
  count: bigint;
}

/** One decoded line. */
export type PluginLine =
  | { type: 'ok'; id: number; data: string }
  | { type: 'err'; id: number; errorClass: PluginErrorClass; message: string }
  | { type: 'hello'; hello: PluginHello }
  | { type: 'hit'; hit: PluginHit }
  | { type: 'miss'; token: string; count: bigint }
  | { type: 'exit'; count: bigint }
  | { type: 'trace'; token: string; entries: TracedInstruction[] };

/** A command line (without the newline). Words must not contain spaces. */
export function encodeCommand(id: number, verb: string, words: readonly (string | number | bigint)[] = []): string {
  return [String(id), verb, ...words.map(String)].join(' ');
}

/** Decodes one line from the plugin; throws {@link ProtocolError} on anything else. */
export function decodeLine(line: string): PluginLine {
  if (line.startsWith('! ')) return decodeEvent(line.slice(2).split(' '), line);
  const m = /^(\d+) (ok|err)(?: (.*))?$/.exec(line);
  if (!m) throw new ProtocolError(`unexpected line from the plugin: ${JSON.stringify(line)}`);
  const id = Number(m[1]);
  const rest = m[3] ?? '';
  if (m[2] === 'ok') return { type: 'ok', id, data: rest };
  const space = rest.indexOf(' ');
  const errorClass = (space < 0 ? rest : rest.slice(0, space)) as PluginErrorClass;
  if (!ERROR_CLASSES.includes(errorClass)) throw new ProtocolError(`plugin error without a known class: ${JSON.stringify(line)}`);
  return { type: 'err', id, errorClass, message: space < 0 ? '' : rest.slice(space + 1) };
}

function decodeEvent(w: string[], line: string): PluginLine {
  switch (w[0]) {
    case 'hello':
      return { type: 'hello', hello: decodeHello(w, line) };
    case 'hit':
      return { type: 'hit', hit: decodeHit(w, line) };
    case 'miss':
      return { type: 'miss', token: need(w[1], line), count: bigInt(w[2], line) };
    case 'exit':
      return { type: 'exit', count: bigInt(w[1], line) };
    case 'trace':
      return {
        type: 'trace',
        token: need(w[1], line),
        entries: need(w[2], line)
          .split(',')
          .map((e) => decodeTraced(e, line)),
      };
    default:
      throw new ProtocolError(`unknown plugin event: ${line}`);
  }
}

function keyValues(words: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq > 0) map.set(word.slice(0, eq), word.slice(eq + 1));
  }
  return map;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], line: string): T {
  if (value !== undefined && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ProtocolError(`unexpected value ${JSON.stringify(value)} in plugin line: ${line}`);
}

function decodeHello(w: string[], line: string): PluginHello {
  // ! hello qemu-fault-plugin <protocol> key=value...
  if (w[1] !== 'qemu-fault-plugin') throw new ProtocolError(`not a qemu-fault plugin: ${line}`);
  const protocol = Number(w[2]);
  if (protocol !== PLUGIN_PROTOCOL) {
    throw new ProtocolError(`plugin speaks protocol ${w[2]}, this package ${PLUGIN_PROTOCOL}: rebuild the plugin (a stale cache?)`);
  }
  const kv = keyValues(w.slice(3));
  const [min, cur] = (kv.get('qemu-api') ?? '').split('..').map(Number);
  const missing = kv.get('missing');
  return {
    protocol,
    api: Number(kv.get('api')),
    qemuApi: { min: min ?? 0, cur: cur ?? 0 },
    target: kv.get('target') ?? '',
    vcpus: Number(kv.get('vcpus') ?? 1),
    precise: oneOf(kv.get('precise'), ['one-insn', 'flush'], line),
    clock: kv.get('clock') === '1',
    registers: oneOf(kv.get('regs'), ['rw', 'r', 'none'], line),
    setPc: kv.get('setpc') === '1',
    stoppedRegisters: kv.get('stopped-regs') === '1',
    pcTriggers: oneOf(kv.get('pc'), ['split', 'hook'], line),
    watch: oneOf(kv.get('watch'), ['replay', 'next', 'none'], line),
    memory: oneOf(kv.get('mem'), ['rw', 'r', 'none'], line),
    cpuIndex: kv.get('cpu-index') === 'block' ? 'block' : 'exact',
    missing: missing && missing !== '-' ? missing.split(',') : [],
  };
}

function decodeHit(w: string[], line: string): PluginHit {
  // ! hit <count> 0x<pc> exact|pc-only <tokens> key=value...
  const kv = keyValues(w.slice(5));
  const hit: PluginHit = {
    count: bigInt(w[1], line),
    pc: bigInt(w[2], line),
    exact: w[3] === 'exact',
    tokens: (w[4] ?? '').split(',').filter(Boolean),
    cpu: Number(kv.get('cpu') ?? 0),
    cpuCount: bigInt(kv.get('ci') ?? w[1], line),
  };
  const t = kv.get('t');
  const wake = kv.get('w');
  const v = kv.get('v');
  if (t !== undefined) hit.frozenAtNs = bigInt(t, line);
  if (wake !== undefined) hit.lastWakeNs = bigInt(wake, line);
  if (v !== undefined) hit.vtimeNs = bigInt(v, line);
  if (kv.has('vt')) hit.vtimeThread = kv.get('vt') === 'main' ? 'main' : 'vcpu';
  const kind = kv.get('wk');
  const address = kv.get('wa');
  const pc = kv.get('wpc');
  if (kind !== undefined && address !== undefined && pc !== undefined) {
    const value = kv.get('wv');
    hit.watch = {
      kind: kind === 'w' ? 'write' : 'read',
      address: bigInt(address, line),
      size: Number(kv.get('ws') ?? 0),
      pc: bigInt(pc, line),
      io: kv.get('wio') === '1',
      late: kv.get('wlate') === '1',
      ...(value !== undefined ? { value: bigInt(value, line) } : {}),
    };
  }
  return hit;
}

/** `<cpu>:<pc hex>:<count hex>` */
function decodeTraced(entry: string, line: string): TracedInstruction {
  const m = /^(\d+):([0-9a-f]+):([0-9a-f]+)$/.exec(entry);
  if (!m) throw new ProtocolError(`bad trace entry ${JSON.stringify(entry)} in plugin line: ${line.slice(0, 200)}`);
  return { cpu: Number(m[1]), pc: BigInt(`0x${m[2]}`), count: BigInt(`0x${m[3]}`) };
}

/** `<gdb number>=<hex> ...` from `regs`. */
export function decodeRegisters(data: string): Map<number, bigint> {
  const regs = new Map<number, bigint>();
  for (const pair of data.split(' ').filter(Boolean)) {
    const m = /^(\d+)=([0-9a-f]+)$/.exec(pair);
    if (!m) throw new ProtocolError(`bad register in the plugin's reply: ${JSON.stringify(pair)}`);
    regs.set(Number(m[1]), BigInt(`0x${m[2]}`));
  }
  return regs;
}

/** `<total> frozen|running <per cpu,...>` from `count`. */
/** What `blocks` reports (see PluginChannel.blocks). */
export interface BlockStats {
  /** `lean` where blocks may go lean. */
  mode: 'lean' | 'checked';
  /** Blocks are lean now. */
  lean: boolean;
  /** Times blocks went lean. */
  entered: number;
  /** Times they went back to checked blocks (something other than a timer was armed). */
  left: number;
}

export function decodeBlocks(data: string): BlockStats {
  const [mode, now, entered, left] = data.split(' ');
  if ((mode !== 'lean' && mode !== 'checked') || (now !== 'lean' && now !== 'checked'))
    throw new ProtocolError(`bad blocks reply: ${data}`);
  return { mode, lean: now === 'lean', entered: Number(bigInt(entered, data)), left: Number(bigInt(left, data)) };
}

export function decodeCount(data: string): { count: bigint; frozen: boolean; perCpu: bigint[] } {
  const [total, state, per] = data.split(' ');
  return {
    count: bigInt(total, data),
    frozen: state === 'frozen',
    perCpu: (per ?? '')
      .split(',')
      .filter(Boolean)
      .map((c) => bigInt(c, data)),
  };
}

function need(word: string | undefined, line: string): string {
  if (word === undefined || word === '') throw new ProtocolError(`truncated plugin line: ${line}`);
  return word;
}

function bigInt(word: string | undefined, line: string): bigint {
  try {
    return BigInt(need(word, line));
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`bad number ${JSON.stringify(word)} in plugin line: ${line}`);
  }
}
