// The original framework's "write_mem_callback" example, as a `qemu-fault run` scenario: one second
// into the guest's life, write 0xDEADBEEF into memory and read it back. Start QEMU by hand with our
// plugin (see the README, "Command line"), then:
//
//   pnpm exec qemu-fault run scenarios/write-mem-callback.ts /tmp/qf/qmp-sock \
//     --qtest /tmp/qf/qtest-sock --gdb /tmp/qf/gdb-sock --serial /tmp/qf/serial-sock \
//     --plugin /tmp/qf/plugin-sock --kernel firmware/build/mps2-an385/faultdemo.elf --verbose 1
import type { Scenario } from '@qemu-fault/core';

const writeMemCallback: Scenario = async (inj) => {
  const scratch = inj.symbol('scratch'); // a word the firmware never touches
  // Keep the firmware running past 1 s (a `.params` word: QEMU loaded it, startup does not reset it).
  await inj.write(inj.symbol('run_ticks'), 0, 4);
  await inj.notify(1_000_000_000, async ({ timeNs }) => {
    await inj.write(scratch, 0xdeadbeef, 4);
    const value = await inj.read(scratch, 4);
    console.log(`${timeNs} ns: read back 0x${value.toString(16)} at 0x${scratch.toString(16)}`);
    if (value !== 0xdeadbeef) throw new Error(`read back 0x${value.toString(16)}, not 0xdeadbeef`);
    await inj.write(inj.symbol('run_ticks'), 1, 4); // let the firmware end at its next tick
  });
  const result = await inj.run({ timeoutMs: 60_000 });
  if (result.reason !== 'exit') throw new Error(`the firmware did not finish (${result.reason})`);
  if (!inj.serial.text.includes('done')) throw new Error(`no 'done' on the serial port:\n${inj.serial.text}`);
};

export default writeMemCallback;
