// The project `pnpm bench` runs through Vitest's Node API to measure the fixture (bench/vitest.bench.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { qemuFault } from '../../packages/vitest-plugin/src/config.js';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { alias: { '@qemu-fault/core': fileURLToPath(new URL('../../packages/core/src/index.ts', import.meta.url)) } },
  plugins: [
    qemuFault({
      machine: 'mps2-an385',
      kernel: '../../examples/firmware/build/mps2-an385/faultdemo.elf',
      // QF_BENCH_WARM=0: the cold variant, each test's QEMU launched when the test starts.
      warm: process.env.QF_BENCH_WARM !== '0',
    }),
  ],
  // The throughput files use the built packages (as a user's suite does): loaded by Node itself,
  // not transformed and served by Vitest's main process, which would take CPU a real suite does not.
  test: { server: { deps: { external: [/\/packages\/(core|vitest-plugin)\/dist\//] } } },
});
