// The original framework's "empty example", as a `qemu-fault run` scenario: let the firmware run
// undisturbed to its end. Start QEMU by hand (see the README, "Command line"), then:
//
//   pnpm exec qemu-fault run scenarios/empty.ts /tmp/qf/qmp-sock --serial /tmp/qf/serial-sock
import type { Scenario } from '@qemu-fault/core';

const empty: Scenario = async (inj) => {
  inj.help();
  // Without our plugin (QEMU started by hand), run() resumes the guest and ends when QEMU exits:
  // the firmware's semihosting exit, after `done`.
  const result = await inj.run({ timeoutMs: 30_000 });
  console.log(`stopped: ${result.reason}`);
  if (result.reason !== 'exit') throw new Error(`the firmware did not finish in time (${result.reason})`);
};

export default empty;
