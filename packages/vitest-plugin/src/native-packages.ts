import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Patterns for Vitest's `server.deps.external` that hand the built `@qemu-fault/vitest` and
 * `@qemu-fault/core` to Node instead of Vitest's module runner. Vitest externalizes what lies under
 * `node_modules/`, but a package linked from a workspace (pnpm/npm/yarn workspaces, `file:`) has its
 * real path outside it, so Vitest transforms and serves all of the framework's modules from its main
 * process, again for every test file: measured on the examples' suite (1 worker, 12 files),
 * Vitest's transform time 1.0 s → 0.13 s and import time 3.2 s → 1.7 s.
 *
 * Both packages go together: a test file importing `@qemu-fault/core` must get the instance the
 * fixture uses, or `instanceof` on the framework's errors would fail. Empty when this module runs
 * from the TypeScript sources (this repository's own tests): Node could not load those.
 */
export function nativePackagePatterns(): RegExp[] {
  const self = fileURLToPath(import.meta.url);
  const core = corePackage(dirname(self));
  if (!self.endsWith('.js') || !core) return [];
  return [dirname(self), join(core, 'dist')].map((dir) => new RegExp(`${escapeRegExp(dir)}/`));
}

/**
 * The real path of the `@qemu-fault/core` package Node loads from `dir`: the first
 * `node_modules/@qemu-fault/core` on the way up, as Node's resolution walks. Not `require.resolve`:
 * a loader with the repository's tsconfig `paths` (tsx, in `pnpm bench`) answers with the sources.
 */
function corePackage(dir: string): string | undefined {
  const candidate = join(dir, 'node_modules', '@qemu-fault', 'core');
  if (existsSync(candidate)) return realpathSync(candidate);
  return dirname(dir) === dir ? undefined : corePackage(dirname(dir));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
