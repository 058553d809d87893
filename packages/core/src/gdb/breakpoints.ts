import { InvalidArgumentError } from '../errors.js';
import { checkAddress, checkCount, describeValue } from '../integers.js';

/** Which accesses a watchpoint catches. */
export type WatchKind = 'write' | 'read' | 'access';

export interface BreakpointOptions {
  /** A hardware breakpoint (`Z1`) instead of a software one (`Z0`). */
  hardware?: boolean;
  /**
   * The breakpoint's kind, as the architecture defines it: usually the instruction's size, e.g.
   * on ARM 2 for Thumb and 4 for ARM (default 4). QEMU's stub ignores it.
   */
  kind?: number;
}

/** A breakpoint or watchpoint: where it is, and the packets that insert and remove it. */
export interface StopPoint {
  /** Names it regardless of the breakpoint kind, which removal need not repeat. */
  key: string;
  address: bigint;
  watch: boolean;
  insert: string;
  remove: string;
}

const DEFAULT_BREAKPOINT_KIND = 4;
const WATCH_TYPES: Record<WatchKind, number> = { write: 2, read: 3, access: 4 };

/** The breakpoints and watchpoints in place, to tell their hits apart and to step over them. */
export class Breakpoints {
  private readonly points = new Map<string, StopPoint>();

  /** Whether any breakpoint is in place. */
  get breaking(): boolean {
    return [...this.points.values()].some((p) => !p.watch);
  }

  /** Whether any watchpoint is in place. */
  get watching(): boolean {
    return [...this.points.values()].some((p) => p.watch);
  }

  /** The watchpoints in place. */
  watchpoints(): StopPoint[] {
    return [...this.points.values()].filter((p) => p.watch);
  }

  /** Whether a breakpoint is in place at `pc`. */
  breaksAt(pc: bigint): boolean {
    return [...this.points.values()].some((p) => !p.watch && p.address === pc);
  }

  inserted(point: StopPoint): void {
    this.points.set(point.key, point);
  }

  removed(point: StopPoint): void {
    this.points.delete(point.key);
  }

  /** A breakpoint at `address`. @throws {InvalidArgumentError} a bad address or kind. */
  breakpoint(address: bigint | number, options: BreakpointOptions): StopPoint {
    const at = checkAddress(address);
    const kind = checkCount(options.kind ?? DEFAULT_BREAKPOINT_KIND, 'breakpoint kind');
    const where = `${options.hardware ? 1 : 0},${at.toString(16)}`;
    return { key: where, address: at, watch: false, insert: `Z${where},${kind.toString(16)}`, remove: `z${where},${kind.toString(16)}` };
  }

  /** A watchpoint on `length` bytes at `address`. @throws {InvalidArgumentError} a bad kind, address or length. */
  watchpoint(kind: WatchKind, address: bigint | number, length: number): StopPoint {
    if (!Object.hasOwn(WATCH_TYPES, kind))
      throw new InvalidArgumentError(`watchpoint kind must be 'write', 'read' or 'access', got ${describeValue(kind)}`);
    checkCount(length, 'watchpoint length');
    if (length === 0) throw new InvalidArgumentError('watchpoint length must be at least 1');
    const at = checkAddress(address, length);
    const where = `${WATCH_TYPES[kind]},${at.toString(16)},${length.toString(16)}`;
    return { key: where, address: at, watch: true, insert: `Z${where}`, remove: `z${where}` };
  }
}
