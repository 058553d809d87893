import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const core = (entry: string) => fileURLToPath(new URL(`./packages/core/src/${entry}`, import.meta.url));
const firmwareSetup = 'test/support/global-setup.ts';

/** `@qemu-fault/core` and its subpaths (package.json `exports`), each to its entry in the source. */
const coreEntries = [
  { find: /^@qemu-fault\/core$/, replacement: core('index.ts') },
  { find: /^@qemu-fault\/core\/campaign$/, replacement: core('campaign/index.ts') },
  { find: /^@qemu-fault\/core\/protocols$/, replacement: core('protocols.ts') },
];

// The project's own tests import the packages from source; examples/ uses the built packages as users do.
export default defineConfig({
  resolve: { alias: coreEntries },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: [firmwareSetup],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'vitest-plugin',
          include: ['test/vitest-plugin/*.test.ts'],
          globalSetup: [firmwareSetup],
          // Each of these runs a whole Vitest with QEMUs inside.
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      // The examples run as a user's project does: their own config, the built packages.
      'examples/vitest.config.ts',
    ],
  },
});
