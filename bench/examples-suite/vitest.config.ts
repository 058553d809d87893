// The examples' fault suite (examples/tests, on the built packages as a user runs it) with the warm
// spare switchable: examples/vitest.config.ts with `warm` from QF_BENCH_WARM (bench/vitest.bench.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
// The built plugin, as examples/vitest.config.ts imports it (it has Node load the built packages).
import { qemuFault } from '../../packages/vitest-plugin/dist/config.js';
import { qemuVersion } from '../../test/support/qemus.js';
import { warmFromEnv } from '../warm-setting.js';

export default defineConfig({
  root: fileURLToPath(new URL('../../examples/', import.meta.url)),
  plugins: [
    qemuFault({
      machine: 'mps2-an385',
      kernel: 'firmware/build/mps2-an385/faultdemo.elf',
      warm: warmFromEnv(),
    }),
  ],
  // The version the examples pick their QEMU arguments by (arm-a-r: -audio), as the examples project sets it.
  test: { name: 'examples', env: { QEMU_FAULT_QEMU_VERSION: qemuVersion() } },
});
