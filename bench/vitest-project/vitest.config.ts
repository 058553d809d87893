// The project `pnpm bench` runs through Vitest's Node API to measure the fixture (bench/vitest.bench.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
// The built plugin: it has Node load the built packages the throughput files import, as in a user's
// suite (not transformed and served by Vitest's main process, which would take CPU a suite does not).
import { qemuFault } from '../../packages/vitest-plugin/dist/config.js';
import { warmFromEnv } from '../warm-setting.js';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { alias: { '@qemu-fault/core': fileURLToPath(new URL('../../packages/core/src/index.ts', import.meta.url)) } },
  plugins: [
    qemuFault({
      machine: 'mps2-an385',
      kernel: '../../examples/firmware/build/mps2-an385/faultdemo.elf',
      // QF_BENCH_WARM: the cold variant (each test's QEMU launched when it starts), always warm, or the default.
      warm: warmFromEnv(),
    }),
  ],
});
