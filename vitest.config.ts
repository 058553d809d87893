import { fileURLToPath } from 'node:url';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { qemusUnderTest } from './test/support/qemus.js';

const core = (entry: string) => fileURLToPath(new URL(`./packages/core/src/${entry}`, import.meta.url));
const firmwareSetup = 'test/support/global-setup.ts';

/** `@qemu-fault/core` and its subpaths (package.json `exports`), each to its entry in the source. */
const coreEntries = [
  { find: /^@qemu-fault\/core$/, replacement: core('index.ts') },
  { find: /^@qemu-fault\/core\/campaign$/, replacement: core('campaign/index.ts') },
  { find: /^@qemu-fault\/core\/protocols$/, replacement: core('protocols.ts') },
];

/**
 * The QEMU-facing suites run once per QEMU version found (test/support/qemus.ts): the system's
 * keeps the plain project names (`integration`, `vitest-plugin`, `examples`), each other one gets
 * `@<version>` (`integration@10.0.2`). `vitest run --project 'integration*'` runs them all.
 */
function qemuProjects(): TestProjectInlineConfiguration[] {
  return qemusUnderTest().flatMap((qemu, i) => {
    const suffix = i === 0 && !qemu.dir ? '' : `@${qemu.version}`;
    const env = { QEMU_FAULT_QEMU_VERSION: qemu.version, ...(qemu.dir ? { QEMU_FAULT_QEMU_DIR: qemu.dir } : {}) };
    return [
      {
        extends: true,
        test: {
          name: `integration${suffix}`,
          include: ['test/integration/**/*.test.ts'],
          globalSetup: [firmwareSetup],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          env,
        },
      },
      {
        extends: true,
        test: {
          name: `vitest-plugin${suffix}`,
          include: ['test/vitest-plugin/*.test.ts'],
          globalSetup: [firmwareSetup],
          // Each of these runs a whole Vitest with QEMUs inside.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          env,
        },
      },
      // The examples run as a user's project does: their own config, the built packages.
      { extends: './examples/vitest.config.ts', root: './examples', test: { name: `examples${suffix}`, env } },
    ];
  });
}

// The project's own tests import the packages from source; examples/ uses the built packages as users do.
export default defineConfig({
  resolve: { alias: coreEntries },
  test: {
    projects: [{ extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } }, ...qemuProjects()],
  },
});
