import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FaultInjectionFramework } from '../framework/framework.js';
import { UsageError } from './exit-codes.js';

/** What `qemu-fault run` passes a scenario besides the framework. */
export interface ScenarioContext {
  /** The scenario's own arguments: whatever followed `--` on the command line. */
  args: readonly string[];
  /** The QMP address the framework is connected to, as given. */
  address: string;
}

/**
 * A scenario module's default export: `export default async (inj) => { ... }`. It receives a
 * framework connected to the QEMU given on the command line; `qemu-fault run` disconnects
 * afterwards (a QEMU started by hand keeps running). Throwing fails the run (exit code 1).
 */
export type Scenario = (inj: FaultInjectionFramework, context: ScenarioContext) => unknown;

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);

/**
 * Loads a scenario file: TypeScript through tsx (no build step, no tsconfig needed), JavaScript
 * with Node's own `import()`. Any problem with the file is a {@link UsageError}.
 */
export async function loadScenario(path: string): Promise<Scenario> {
  const file = resolve(path);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`scenario file not found: ${path}`);
  const url = pathToFileURL(file).href;
  let module: { default?: unknown };
  try {
    if (TYPESCRIPT.has(extname(file))) {
      // Loaded only for TypeScript scenarios: tsx is esbuild underneath, a cost `.js` scenarios skip.
      const { tsImport } = await import('tsx/esm/api');
      module = (await tsImport(url, import.meta.url)) as { default?: unknown };
    } else {
      module = (await import(url)) as { default?: unknown };
    }
  } catch (err) {
    throw new UsageError(`cannot load scenario ${path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  // A CommonJS-style module compiled by tsx may nest its default export once more.
  const candidate =
    typeof module.default === 'object' && module.default !== null ? (module.default as { default?: unknown }).default : module.default;
  if (typeof candidate !== 'function') {
    throw new UsageError(`${path} must default-export the scenario function: export default async (inj) => { ... }`);
  }
  return candidate as Scenario;
}
