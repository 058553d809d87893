// The examples' fault suite (examples/tests, on the built packages as a user runs it) with the warm
// spare switchable: examples/vitest.config.ts with `warm` from QF_BENCH_WARM (bench/vitest.bench.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
// The config side only provides the options; the tests use the built fixture, as in examples/.
import { qemuFault } from '../../packages/vitest-plugin/src/config.js';

export default defineConfig({
  root: fileURLToPath(new URL('../../examples/', import.meta.url)),
  plugins: [
    qemuFault({
      machine: 'mps2-an385',
      kernel: 'firmware/build/mps2-an385/faultdemo.elf',
      warm: process.env.QF_BENCH_WARM !== '0',
    }),
  ],
  test: { name: 'examples' },
});
