/**
 * `qemu-fault campaign <config> --reproduce <fault-id> [--gdb]`: one fault replayed from a fresh
 * boot, its trace printed; with `--gdb`, QEMU waits stopped after the injection for a debugger.
 */
import type { CampaignDefinition } from '../campaign/definition.js';
import { reproduceFault } from '../campaign/reproduce.js';
import { formatFaultTrace } from '../campaign/reproduce-trace.js';
import { ExitCode } from './exit-codes.js';
import type { Output } from './output.js';
import type { SignalWatch } from './signals.js';

/** Reproduces fault `id` and resolves with the exit code: 0 once traced (or once the debugging QEMU is gone). */
export async function reproduceCommand(
  definition: CampaignDefinition,
  id: string,
  options: { baseDir: string; gdb: boolean },
  out: Output,
  signals: SignalWatch,
): Promise<number> {
  const { trace, gdb } = await reproduceFault(definition, id, options);
  out.print(formatFaultTrace(trace, gdb));
  if (!gdb) return ExitCode.OK;
  try {
    const stoppedBy = await Promise.race([gdb.exited.then(() => undefined), signals.received]);
    if (stoppedBy) return stoppedBy === 'SIGINT' ? ExitCode.SIGINT : ExitCode.SIGTERM;
    return ExitCode.OK;
  } finally {
    await gdb.close();
  }
}
