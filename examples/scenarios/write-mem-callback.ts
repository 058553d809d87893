// The original framework's "write_mem_callback" example, as a `qemu-fault run` scenario: while the
// firmware runs, write 0xDEADBEEF into memory and read it back. Start QEMU by hand (see the
// README, "Command line"), then:
//
//   pnpm exec qemu-fault run scenarios/write-mem-callback.ts /tmp/qf/qmp-sock \
//     --qtest /tmp/qf/qtest-sock --gdb /tmp/qf/gdb-sock --serial /tmp/qf/serial-sock \
//     --kernel firmware/build/mps2-an385/faultdemo.elf --verbose 1
//
// The original paused at a guest time with its patched QEMU's `notify`. A QEMU started by hand
// has no time triggers (they come with launch()'s plugin, see the `*.fault.test.ts` files), so
// this scenario pauses at a point the guest announces on its serial port instead.
import type { Scenario } from '@qemu-fault/core';

const writeMemCallback: Scenario = async (inj) => {
  const scratch = inj.symbol('scratch'); // a word the firmware never touches
  // Keep the firmware running until we say (a `.params` word: QEMU loaded it, startup does not reset it).
  await inj.write(inj.symbol('run_ticks'), 0, 4);
  await inj.cont();
  await inj.serial.waitFor('auth: ', { timeoutMs: 10_000 }); // past its start-up, in its main loop

  await inj.stop();
  await inj.write(scratch, 0xdeadbeef, 4);
  const value = await inj.read(scratch, 4);
  console.log(`read back 0x${value.toString(16)} at 0x${scratch.toString(16)}`);
  if (value !== 0xdeadbeef) throw new Error(`read back 0x${value.toString(16)}, not 0xdeadbeef`);

  // Let the firmware end by itself at its next tick, and wait for it.
  await inj.write(inj.symbol('run_ticks'), 1, 4);
  const result = await inj.run({ timeoutMs: 30_000 });
  if (result.reason !== 'exit') throw new Error(`the firmware did not finish (${result.reason})`);
  if (!inj.serial.text.includes('done')) throw new Error(`no 'done' on the serial port:\n${inj.serial.text}`);
};

export default writeMemCallback;
