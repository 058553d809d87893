/**
 * `@qemu-fault/vitest/config`: the part that runs while Vitest loads its config. It must not import
 * the fixture module: `test.extend` at import time throws ("failed to find the current suite")
 * outside a test file, which is why this is a separate subpath, like `vitest/config`.
 */
import type { Plugin } from 'vitest/config';
import { nativePackagePatterns } from './native-packages.js';
import { PROVIDE_KEY, type ProvidedQemuConfig, type QemuFaultConfig, resolvePaths } from './options.js';

export { DIAGNOSTICS_ARTIFACT, type QemuFaultConfig, type QemuOptions } from './options.js';

/**
 * The files fault tests live in. Vitest's default `include` matches them too, so a unit-test project
 * next to them should add these to its `exclude` (see the README).
 */
export const faultTestInclude: readonly string[] = ['**/*.fault.test.?(c|m)[jt]s'];

/**
 * Default `testTimeout` and `hookTimeout` for fault tests. Launching QEMU happens inside the test
 * (or the hook that first uses `qemu`) and counts against its timeout; QEMU may take up to
 * `readyTimeoutMs` (10 s by default) to get ready, and the guest then runs for real time.
 */
export const faultTestTimeoutMs = 30_000;

/**
 * The Vitest plugin for fault tests:
 *
 * ```ts
 * // vitest.config.ts
 * import { defineConfig } from 'vitest/config';
 * import { qemuFault } from '@qemu-fault/vitest/config';
 *
 * export default defineConfig({
 *   plugins: [qemuFault({ machine: 'mps2-an385', kernel: 'build/firmware.elf' })],
 * });
 * ```
 *
 * It makes the project run `**\/*.fault.test.ts` (unless the config sets `test.include`), raises
 * `testTimeout`/`hookTimeout` to {@link faultTestTimeoutMs} (unless set), has Node load the built
 * framework itself (`server.deps.external`, also when it is linked from a workspace), and hands
 * `options` to the `qemu` fixture in every worker. Relative `kernel`/`qemu` paths are resolved against the
 * project's root. Values set in the config itself always win over the plugin's defaults.
 */
export function qemuFault(options: QemuFaultConfig = {}): Plugin {
  return {
    name: 'qemu-fault',
    config(config) {
      // Mutate instead of returning a partial config: Vite would concatenate a returned `include`
      // with the user's, and let returned timeouts override theirs.
      config.test ??= {};
      const test = config.test;
      test.include ??= [...faultTestInclude];
      test.testTimeout ??= faultTestTimeoutMs;
      test.hookTimeout ??= faultTestTimeoutMs;
      // The framework loaded by Node, not transformed per test file (see native-packages.ts); a
      // config's own `server.deps.inline` still wins, as Vitest checks it first.
      const native = nativePackagePatterns();
      if (native.length) {
        test.server ??= {};
        test.server.deps ??= {};
        test.server.deps.external = [...(test.server.deps.external ?? []), ...native];
      }
    },
    configureVitest({ project }) {
      // Called once per project that has this plugin, with the project's resolved root.
      const root = project.config.root;
      const { warm = 'auto', ...launchOptions } = options;
      const provided: ProvidedQemuConfig = {
        root,
        options: resolvePaths(launchOptions, root),
        warm,
        isolate: project.config.isolate !== false,
      };
      project.provide(PROVIDE_KEY, provided);
    },
  };
}
