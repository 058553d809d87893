/**
 * Typed errors. Every error the library throws is a {@link QemuFaultError} with a stable `code`,
 * so callers can branch on `err.code` (or `instanceof`) instead of parsing messages.
 */

/** Stable machine-readable error codes. */
export type QemuFaultErrorCode =
  | 'INVALID_ARGUMENT'
  | 'CONNECTION_FAILED'
  | 'CONNECTION_CLOSED'
  | 'TIMEOUT'
  | 'PROTOCOL'
  | 'EVENT_OVERFLOW'
  | 'QMP_ERROR'
  | 'QTEST_FAILED'
  | 'GDB_ERROR'
  | 'HMP_ERROR'
  | 'LAUNCH_FAILED'
  | 'READY_TIMEOUT'
  | 'QEMU_EXITED'
  | 'CHANNEL_UNAVAILABLE'
  | 'UNSUPPORTED'
  | 'UNKNOWN_SYMBOL'
  | 'AMBIGUOUS_SYMBOL'
  | 'ELF_FORMAT'
  | 'TRIGGER_FAILED'
  | 'CAMPAIGN_CONFIG'
  | 'CLASSIFIER_FAILED'
  | 'SNAPSHOT_FAILED'
  | 'RESULTS_FILE'
  | 'CAMPAIGN_ASSERTION'
  | 'UNKNOWN_FAULT';

/** A message followed by what QEMU last wrote to stderr, when it wrote anything. */
function withStderrTail(message: string, stderrTail: string): string {
  return stderrTail ? `${message}\n--- QEMU stderr (tail) ---\n${stderrTail}` : message;
}

/** Base class of every error thrown by `@qemu-fault/core`. */
export class QemuFaultError extends Error {
  readonly code: QemuFaultErrorCode;

  constructor(code: QemuFaultErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument is out of range or of the wrong kind; nothing was sent to QEMU. */
export class InvalidArgumentError extends QemuFaultError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** A socket could not be reached (missing path, refused port). */
export class ConnectionError extends QemuFaultError {
  readonly address: string;

  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super('CONNECTION_FAILED', message, options);
    this.address = address;
  }
}

/** The peer closed the connection, or we did, while something was still pending. */
export class ConnectionClosedError extends QemuFaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECTION_CLOSED', message, options);
  }
}

/** An operation did not finish within its time limit. */
export class TimeoutError extends QemuFaultError {
  readonly timeoutMs: number;

  constructor(operation: string, timeoutMs: number, detail?: string) {
    super('TIMEOUT', `${operation} timed out after ${timeoutMs} ms${detail ? ` ${detail}` : ''}`);
    this.timeoutMs = timeoutMs;
  }
}

/** The peer sent something that does not follow its protocol. */
export class ProtocolError extends QemuFaultError {
  constructor(message: string) {
    super('PROTOCOL', message);
  }
}

/**
 * An event iterator's consumer fell further behind than its buffer allows. Failing loudly beats
 * dropping events silently: tests that wait for a specific event would otherwise hang.
 */
export class EventOverflowError extends QemuFaultError {
  constructor(maxBuffered: number) {
    super('EVENT_OVERFLOW', `more than ${maxBuffered} QMP events were buffered for an iterator nobody was reading; events were lost`);
  }
}

/** QEMU answered a QMP command with an error object. */
export class QmpError extends QemuFaultError {
  /** QMP's error class, e.g. `GenericError`, `CommandNotFound`, `DeviceNotFound`. */
  readonly errorClass: string;
  /** QMP's human-readable description. */
  readonly desc: string;
  /** The command that failed. */
  readonly command: string;

  constructor(command: string, errorClass: string, desc: string) {
    super('QMP_ERROR', `QMP command '${command}' failed: ${errorClass}: ${desc}`);
    this.errorClass = errorClass;
    this.desc = desc;
    this.command = command;
  }
}

/** The qtest channel answered `FAIL`. */
export class QtestError extends QemuFaultError {
  readonly command: string;
  readonly reply: string;

  constructor(command: string, reply: string) {
    super('QTEST_FAILED', `qtest command '${command}' failed: ${reply}`);
    this.command = command;
    this.reply = reply;
  }
}

/** The gdbstub answered with an error packet (`Exx`) or an unsupported (empty) reply. */
export class GdbError extends QemuFaultError {
  readonly packet: string;
  readonly reply: string;

  constructor(packet: string, reply: string, detail?: string) {
    super('GDB_ERROR', `gdbstub packet '${packet}' failed: ${detail ?? (reply === '' ? 'not supported' : reply)}`);
    this.packet = packet;
    this.reply = reply;
  }
}

/** The human monitor (HMP) printed an error for a command whose success is silent (`cont`, `stop`). */
export class HmpError extends QemuFaultError {
  readonly command: string;
  readonly output: string;

  constructor(command: string, output: string) {
    super('HMP_ERROR', `HMP command '${command}' failed: ${output}`);
    this.command = command;
    this.output = output;
  }
}

/** QEMU could not be started, or exited before it was ready. */
export class LaunchError extends QemuFaultError {
  /** The last lines QEMU wrote to stderr. */
  readonly stderrTail: string;
  readonly exitCode: number | undefined;

  constructor(message: string, stderrTail: string, exitCode?: number, options?: { cause?: unknown }) {
    super('LAUNCH_FAILED', withStderrTail(message, stderrTail), options);
    this.stderrTail = stderrTail;
    this.exitCode = exitCode;
  }
}

/** How a start-up limit is named and raised, for {@link ReadyTimeoutError}'s message. */
export interface StartUpLimitName {
  /** The option that sets it, e.g. `readyTimeoutMs`. */
  option: string;
  /** Where to raise it, e.g. `launch({ readyTimeoutMs })`. */
  raise: string;
}

/**
 * QEMU, or one of its channels, was not ready within the start-up limit. Names the limit and how
 * to raise it: on a loaded machine QEMU may need more time than the default.
 */
export class ReadyTimeoutError extends QemuFaultError {
  /** The option whose limit ran out. */
  readonly option: string;
  readonly timeoutMs: number;
  /** The last lines QEMU wrote to stderr (empty for a QEMU this process did not start). */
  readonly stderrTail: string;

  constructor(what: string, limit: StartUpLimitName & { timeoutMs: number }, details: { stderrTail?: string; cause?: unknown } = {}) {
    const why = details.cause instanceof Error ? `: ${details.cause.message}` : '';
    const tail = details.stderrTail ?? '';
    const message = `${what} was not ready within ${limit.option} (${limit.timeoutMs} ms)${why}. On a busy machine, raise it: ${limit.raise}`;
    super('READY_TIMEOUT', withStderrTail(message, tail), { cause: details.cause });
    this.option = limit.option;
    this.timeoutMs = limit.timeoutMs;
    this.stderrTail = tail;
  }
}

/** QEMU went away while we were using it. */
export class QemuExitedError extends QemuFaultError {
  readonly stderrTail: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;

  constructor(message: string, details: { stderrTail?: string; exitCode?: number; signal?: string; cause?: unknown } = {}) {
    const tail = details.stderrTail ?? '';
    super('QEMU_EXITED', withStderrTail(message, tail), details.cause === undefined ? undefined : { cause: details.cause });
    this.stderrTail = tail;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
  }
}

/** A feature needs a side channel (qtest, gdbstub, plugin) this QEMU was not started with. */
export class ChannelUnavailableError extends QemuFaultError {
  readonly channel: string;

  constructor(channel: string, feature: string, hint: string) {
    super('CHANNEL_UNAVAILABLE', `${feature} needs the ${channel} channel, which this QEMU does not offer. ${hint}`);
    this.channel = channel;
  }
}

/** A symbol is not in the kernel ELF's symbol table. */
export class UnknownSymbolError extends QemuFaultError {
  readonly symbol: string;

  constructor(symbol: string, elfPath: string) {
    super('UNKNOWN_SYMBOL', `symbol '${symbol}' is not defined in ${elfPath}`);
    this.symbol = symbol;
  }
}

/** A symbol name defined more than once (file-local statics of several files); `file.c:name` picks one. */
export class AmbiguousSymbolError extends QemuFaultError {
  readonly symbol: string;
  /** Each definition, as `file.c:name` (or `name (global)`). */
  readonly candidates: readonly string[];

  constructor(symbol: string, elfPath: string, candidates: readonly string[]) {
    super(
      'AMBIGUOUS_SYMBOL',
      `symbol '${symbol}' is defined ${candidates.length} times in ${elfPath}: ${candidates.join(', ')}; name one as 'file.c:${symbol}'`,
    );
    this.symbol = symbol;
    this.candidates = candidates;
  }
}

/** A file is not an ELF image we can read. */
export class ElfFormatError extends QemuFaultError {
  constructor(path: string, reason: string) {
    super('ELF_FORMAT', `${path} is not a usable ELF file: ${reason}`);
  }
}

/** A fault campaign's definition is unusable: an empty fault space, a target outside memory, a moment never reached. */
export class CampaignConfigError extends QemuFaultError {
  constructor(message: string) {
    super('CAMPAIGN_CONFIG', message);
  }
}

/** A campaign's classifier threw; names the fault it was classifying. */
export class ClassifierError extends QemuFaultError {
  /** The id of the fault being classified. */
  readonly faultId: string;

  constructor(faultId: string, cause: unknown) {
    super('CLASSIFIER_FAILED', `the classifier threw on fault ${faultId}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.faultId = faultId;
  }
}

/** A VM snapshot could not be saved or loaded (e.g. no disk space left for the image). */
export class SnapshotError extends QemuFaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SNAPSHOT_FAILED', message, options);
  }
}

/** A campaign results file is unreadable, corrupt, or belongs to another campaign. */
export class ResultsFileError extends QemuFaultError {
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('RESULTS_FILE', `${path}: ${message}`, options);
    this.path = path;
  }
}

/** A fault id (or `#index`) names no fault of the campaign; lists up to 5 ids that come close. */
export class UnknownFaultError extends QemuFaultError {
  readonly faultId: string;

  constructor(faultId: string, campaign: string, total: number, near: readonly string[]) {
    const hint = near.length ? ` Close ones:\n${near.map((id) => `  ${id}`).join('\n')}` : '';
    super(
      'UNKNOWN_FAULT',
      `campaign '${campaign}' has no fault '${faultId}' (give its id as the report shows it, or #0..#${total - 1}).${hint}`,
    );
    this.faultId = faultId;
  }
}

/** A campaign result does not satisfy an assertion (e.g. silent outcomes where none are allowed). */
export class CampaignAssertionError extends QemuFaultError {
  constructor(message: string) {
    super('CAMPAIGN_ASSERTION', message);
  }
}

/**
 * The QEMU in use cannot do what was asked: its plugin API is too old, or it does not export the
 * internal functions the feature needs. Names the feature, the QEMU and what is missing.
 */
export class UnsupportedError extends QemuFaultError {
  /** What was asked, e.g. `notify()`, `registers.set('pc')`. */
  readonly feature: string;

  constructor(feature: string, reason: string) {
    super('UNSUPPORTED', `${feature} is not available on this QEMU: ${reason}`);
    this.feature = feature;
  }
}
