/**
 * Loading a campaign config file: a module whose default export is the definition (`.ts`/`.mts`
 * through tsx, `.js`/`.mjs` with `import()`), or a JSON file holding it (data only: no `prepare`,
 * no custom classifier, serial patterns as plain strings).
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CampaignConfigError } from '../errors.js';
import type { CampaignDefinition } from './definition.js';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);

async function importDefault(file: string): Promise<unknown> {
  const url = pathToFileURL(file).href;
  let module: { default?: unknown };
  if (TYPESCRIPT.has(extname(file))) {
    let tsImport: (url: string, parent: string) => Promise<unknown>;
    try {
      ({ tsImport } = (await import('tsx/esm/api')) as { tsImport: typeof tsImport });
    } catch {
      throw new CampaignConfigError(`${file} is TypeScript, which needs the 'tsx' package (npm i -D tsx), or use a .mjs/.json config`);
    }
    module = (await tsImport(url, import.meta.url)) as { default?: unknown };
  } else {
    module = (await import(url)) as { default?: unknown };
  }
  // A module compiled to CommonJS may nest its default export once more.
  const inner = module.default as { default?: unknown } | undefined;
  return inner && typeof inner === 'object' && 'default' in inner && !('space' in inner) ? inner.default : module.default;
}

/**
 * Loads the campaign definition in `path`. Relative paths inside it (the kernel) are relative to
 * the file's directory, returned as `baseDir`.
 */
export async function loadCampaignDefinition(path: string): Promise<{ definition: CampaignDefinition; baseDir: string }> {
  const file = resolve(path);
  if (!(await stat(file).catch(() => undefined))?.isFile()) throw new CampaignConfigError(`campaign config not found: ${path}`);
  let value: unknown;
  try {
    value = extname(file) === '.json' ? JSON.parse(await readFile(file, 'utf8')) : await importDefault(file);
  } catch (err) {
    if (err instanceof CampaignConfigError) throw err;
    throw new CampaignConfigError(`cannot load campaign config ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!value || typeof value !== 'object' || !('space' in value)) {
    throw new CampaignConfigError(
      `${path} must ${extname(file) === '.json' ? 'hold' : 'default-export'} a campaign definition ({ name, machine, kernel, space, ... })`,
    );
  }
  return { definition: value as CampaignDefinition, baseDir: dirname(file) };
}
