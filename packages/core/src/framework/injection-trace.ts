/** How much the framework prints: 0 nothing, 1 every injection with its guest time, 2 also every protocol message. */
export type VerboseLevel = 0 | 1 | 2;

/** One thing the framework did to the guest, with the guest time it happened at. */
export interface TraceEntry {
  /** Guest time in nanoseconds, when a time source is available. */
  timeNs: number | undefined;
  kind: 'read' | 'write' | 'gpio' | 'qom-set' | 'register' | 'notify' | 'trigger' | 'run' | 'fault';
  /** Human-readable description, e.g. `write @0x20000000 size 4 value 0xdeadbeef from cpu 0`. */
  text: string;
}

/** Where trace lines go; the default prints to stdout. */
export type LogSink = (line: string) => void;

const MAX_ENTRIES = 10_000;

/**
 * Records what was injected and when, and prints it according to the verbose level.
 * The record is bounded (oldest entries go first) so long campaigns don't grow without limit.
 */
export class InjectionTrace {
  private readonly list: TraceEntry[] = [];
  private dropped = 0;

  /** Supplies the guest time for each entry; set by the framework once it has a time source. */
  clock: () => number | undefined = () => undefined;

  constructor(
    public verbose: VerboseLevel = 0,
    private readonly log: LogSink = (line) => console.log(line),
  ) {}

  /** A hook for a protocol client's `trace` option that prints its messages at verbose 2. */
  channel(name: string): (direction: 'send' | 'recv', text: string) => void {
    return (direction, text) => this.message(name, direction, text);
  }

  /** Records an action; printed at verbose ≥ 1. */
  record(kind: TraceEntry['kind'], text: string, timeNs = this.clock()): TraceEntry {
    const entry: TraceEntry = { timeNs, kind, text };
    this.list.push(entry);
    if (this.list.length > MAX_ENTRIES) {
      this.list.shift();
      this.dropped++;
    }
    if (this.verbose >= 1) this.log(formatEntry(entry));
    return entry;
  }

  /** Prints a raw protocol message at verbose 2. */
  message(channel: string, direction: 'send' | 'recv', text: string): void {
    if (this.verbose >= 2) this.log(`[${channel}] ${direction === 'send' ? '->' : '<-'} ${text.trimEnd()}`);
  }

  /** Entries recorded so far (the latest {@link MAX_ENTRIES}). */
  get entries(): readonly TraceEntry[] {
    return this.list;
  }

  /** The trace as text, one line per entry, for reports. */
  toString(): string {
    const head = this.dropped ? [`(${this.dropped} earlier entries dropped)`] : [];
    return [...head, ...this.list.map(formatEntry)].join('\n');
  }
}

/** `<time>ns: <text>`, or `?ns` before a time source exists. */
export function formatEntry(entry: TraceEntry): string {
  return `${entry.timeNs ?? '?'}ns: ${entry.text}`;
}
