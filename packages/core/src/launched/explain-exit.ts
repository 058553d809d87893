import { type ConnectionClosedError, QemuExitedError } from '../errors.js';
import type { ExplainLostConnection } from '../framework/options.js';
import type { QemuProcess } from '../launch/qemu-process.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { within } from '../wait.js';

/** How long a lost connection waits for QEMU's exit to be known before it is reported as it is. */
const EXIT_WAIT_MS = 1000;

/** Explains lost connections to one QEMU; {@link dispose} stops listening for its SHUTDOWN events. */
export interface QemuExitExplainer {
  explain: ExplainLostConnection;
  dispose(): void;
}

/**
 * For a QEMU this process started: a lost connection becomes a `QemuExitedError` once QEMU
 * has exited, saying how it ended ("QEMU was killed by SIGKILL", "QEMU exited with code 0 after a
 * QMP SHUTDOWN (guest-reset)") with its stderr tail; "connection ended (ECONNRESET)" only says
 * where it was noticed.
 */
export function explainQemuExit(qemu: QemuProcess, qmp: QmpClient): QemuExitExplainer {
  // The reason of QEMU's last SHUTDOWN event (e.g. `guest-reset` under -no-reboot) explains an exit.
  let shutdownReason: string | undefined;
  const dispose = qmp.events.on('SHUTDOWN', (e) => {
    shutdownReason = typeof e.data['reason'] === 'string' ? e.data['reason'] : 'unknown';
  });
  const explain = async (lost: ConnectionClosedError): Promise<Error> => {
    // The sockets close a moment before the exit is reaped: wait for it, briefly.
    const exit = await within(qemu.exited, EXIT_WAIT_MS);
    if (!exit) return lost;
    const after = shutdownReason ? ` after a QMP SHUTDOWN (${shutdownReason})` : '';
    return new QemuExitedError(`${qemu.describeExit()}${after}; ${lost.message}`, {
      stderrTail: qemu.stderr.text(),
      exitCode: exit.exitCode,
      signal: exit.signal,
      cause: lost,
    });
  };
  return { explain, dispose };
}
