import { ReadyTimeoutError, type StartUpLimitName } from '../errors.js';

/** How a {@link StartUpLimit} applies, and what its error quotes. */
export interface StartUpLimitOptions {
  /** `shared`: one deadline for everything from now on (`launch()`); `per-connection`: each socket gets the whole time (`connect()`). */
  scope: 'shared' | 'per-connection';
  /** QEMU's stderr so far, for a QEMU this process started: why it was slow is often there. */
  stderrTail?: () => string;
}

/**
 * The time QEMU and its channels get to become ready. Every connection takes its limit from here,
 * so none has a fixed one of its own, and running out names the option that sets it.
 */
export class StartUpLimit {
  private readonly shared: Deadline | undefined;

  constructor(
    readonly timeoutMs: number,
    private readonly name: StartUpLimitName,
    private readonly options: StartUpLimitOptions,
  ) {
    this.shared = options.scope === 'shared' ? new Deadline(Date.now() + timeoutMs, this) : undefined;
  }

  /** The deadline a connection starting now must meet. */
  deadline(): Deadline {
    return this.shared ?? new Deadline(Date.now() + this.timeoutMs, this);
  }

  /** The error for `what` not being ready in time; `cause` is the failure the deadline cut short. */
  error(what: string, cause?: unknown): ReadyTimeoutError {
    return new ReadyTimeoutError(what, { ...this.name, timeoutMs: this.timeoutMs }, { cause, stderrTail: this.options.stderrTail?.() });
  }
}

/** The point in time a start-up step must finish by. */
export class Deadline {
  constructor(
    private readonly at: number,
    readonly limit: StartUpLimit,
  ) {}

  /** Time left in ms, at least 1 (timers take 0 as "at once", some clients as "no limit"). */
  remaining(): number {
    return Math.max(1, this.at - Date.now());
  }

  get passed(): boolean {
    return Date.now() >= this.at;
  }
}
