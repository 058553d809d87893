import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { LaunchError } from '../errors.js';
import { findExecutable } from './find-executable.js';
import { OutputTail } from './output-tail.js';
import { guardProcess, releaseProcess } from './reaper.js';

/** How a QEMU process ended. */
export interface ExitInfo {
  exitCode: number | undefined;
  signal: string | undefined;
}

// setpriv (util-linux) makes the kernel kill QEMU when the thread that started it dies,
// even by SIGKILL, where no exit handler of ours can run.
const SETPRIV = findExecutable('setpriv');

/** QEMUs still running: killed if this process exits normally with them (close() not awaited). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Resolves a QEMU binary through PATH, or throws a {@link LaunchError} naming it. */
export function requireQemuBinary(binary: string): string {
  const resolved = findExecutable(binary);
  if (!resolved) throw new LaunchError(`QEMU binary '${binary}' was not found or is not executable (PATH=${process.env.PATH ?? ''})`, '');
  return resolved;
}

/** A running QEMU: its pid, the tail of its stderr, and how to end it. */
export class QemuProcess {
  readonly stderr = new OutputTail();
  /** Settles when the process has exited; never rejects. */
  readonly exited: Promise<ExitInfo>;
  private exit: ExitInfo | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly binary: string,
    readonly args: readonly string[],
  ) {
    child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk));
    // Besides setpriv and the plugin: the reaper also kills QEMU when this process dies (see reaper.ts).
    const pid = child.pid;
    if (pid !== undefined) {
      guardProcess(pid);
      running.add(child);
    }
    const ended = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => resolve({ exitCode: code ?? undefined, signal: signal ?? undefined }));
      // A binary that cannot be run reports an error and no exit.
      child.on('error', () => resolve({ exitCode: undefined, signal: undefined }));
    });
    // Exit is reported once stderr is drained too: an error quoting QEMU's last words must have all of them.
    const drained = child.stderr && !child.stderr.closed ? once(child.stderr, 'close').catch(() => undefined) : undefined;
    this.exited = Promise.all([ended, drained]).then(([exit]) => {
      running.delete(child);
      if (pid !== undefined) releaseProcess(pid);
      this.exit = exit;
      return exit;
    });
  }

  /**
   * Starts `binary` with `args` (never through a shell). Throws a {@link LaunchError} if it can't
   * be run. `tiedToOwner: false` skips the setpriv wrapper, for a QEMU that already dies with its
   * owner another way (our plugin ends QEMU when its socket to us closes).
   */
  static start(binary: string, args: readonly string[], options: { tiedToOwner?: boolean } = {}): QemuProcess {
    const resolved = requireQemuBinary(binary);
    const wrap = SETPRIV && options.tiedToOwner !== false;
    const [file, argv] = wrap ? [SETPRIV, ['--pdeathsig', 'KILL', '--', resolved, ...args]] : [resolved, [...args]];
    // node:child_process directly: a wrapper (execa) cost each launch about a millisecond of CPU.
    const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    return new QemuProcess(child, resolved, args);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Set once the process has exited. */
  get exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  /** Waits up to `graceMs` for QEMU to exit by itself, then kills it. */
  async terminate(graceMs: number): Promise<ExitInfo> {
    if (this.exit) return this.exit;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([this.exited, grace]);
    clearTimeout(timer);
    if (!this.exit) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** Asks QEMU to quit (SIGTERM, which it handles as a clean shutdown), then kills it after `graceMs`. */
  async quit(graceMs: number): Promise<ExitInfo> {
    if (!this.exit) this.child.kill('SIGTERM');
    return this.terminate(graceMs);
  }

  /** Kills QEMU at once (SIGKILL). */
  kill(): Promise<ExitInfo> {
    if (!this.exit) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** Describes how QEMU ended, for error messages. */
  describeExit(): string {
    if (!this.exit) return 'QEMU is still running';
    return this.exit.signal ? `QEMU was killed by ${this.exit.signal}` : `QEMU exited with code ${this.exit.exitCode}`;
  }
}

/** Rejects with a {@link LaunchError} quoting QEMU's stderr if QEMU exits before it is ready. */
export function exitedBeforeReady(qemu: QemuProcess): Promise<never> {
  const died = qemu.exited.then((): never => {
    throw new LaunchError(`QEMU exited before it was ready (${qemu.describeExit()})`, qemu.stderr.text(), qemu.exitInfo?.exitCode);
  });
  died.catch(() => undefined);
  return died;
}
