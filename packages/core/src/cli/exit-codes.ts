import { ConnectionClosedError, QemuExitedError, QemuFaultError } from '../errors.js';

/**
 * The CLI's exit codes, a contract for scripts (documented in the README and in `--help`).
 * 1 and 4 are kept apart so CI can tell "the firmware or the scenario failed" from "the emulator
 * went away", which is worth a retry.
 */
export const ExitCode = {
  /** Everything went as asked. */
  OK: 0,
  /** The scenario threw (or `launch`: QEMU ended with an error). */
  FAILED: 1,
  /** Bad command line, or a file given on it (scenario, kernel) is unusable. */
  USAGE: 2,
  /** QEMU could not be reached or started. */
  UNREACHABLE: 3,
  /** QEMU exited or dropped the connection while a command was running. */
  QEMU_LOST: 4,
  /** Ended by SIGINT (Ctrl-C): 128 + 2, as shells report it. */
  SIGINT: 130,
  /** Ended by SIGTERM: 128 + 15. */
  SIGTERM: 143,
} as const;

/** The command line is wrong: the message is printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit code for an error raised while connecting to or starting QEMU. */
export function connectFailureCode(err: unknown): number {
  if (err instanceof UsageError) return ExitCode.USAGE;
  if (err instanceof QemuFaultError && (err.code === 'INVALID_ARGUMENT' || err.code === 'ELF_FORMAT')) return ExitCode.USAGE;
  return ExitCode.UNREACHABLE;
}

/** Exit code for an error a scenario ended with: lost QEMU (4) or a failure (1). */
export function scenarioFailureCode(err: unknown): number {
  return err instanceof QemuExitedError || err instanceof ConnectionClosedError ? ExitCode.QEMU_LOST : ExitCode.FAILED;
}

/** The exit code a shell reports for a process ended by `signal`. */
export function signalExitCode(signal: 'SIGINT' | 'SIGTERM'): number {
  return signal === 'SIGINT' ? ExitCode.SIGINT : ExitCode.SIGTERM;
}
