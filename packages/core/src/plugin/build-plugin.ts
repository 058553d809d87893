/**
 * Compiles our TCG plugin (packages/core/plugin/src/*.c) for a QEMU binary on first use, and keeps
 * the shared object in a user cache keyed by the sources, the compiler and the plugin API
 * version. The version is the QEMU's current one: QEMU has one implementation of its API, so the
 * plugin must use that QEMU's calling conventions whatever version it declares.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnsupportedError } from '../errors.js';
import { compileSharedObject, PLUGIN_CFLAGS } from './compile.js';
import { type PluginApiRange, probePluginApi } from './probe-api.js';

/** The plugin API versions the plugin's source has glue for (QEMU 7.2 speaks 1, 11.1 speaks 7). */
export const SUPPORTED_PLUGIN_API = { min: 1, max: 7 } as const;

export interface BuildPluginOptions {
  /** QEMU binary to build for (default `qemu-system-arm`). */
  qemuBinary?: string;
  /** Where built plugins are kept (default `$QEMU_FAULT_CACHE_DIR` or `~/.cache/qemu-fault`). */
  cacheDir?: string;
  /** C compiler (default `$CC` or `cc`). */
  cc?: string;
  /** Skip probing QEMU and build for this API version. */
  apiVersion?: number;
  /** Directory of the plugin's C sources (default: the one shipped in packages/core/plugin/src). */
  sourceDir?: string;
}

export interface BuiltPlugin {
  path: string;
  apiVersion: number;
  /** The versions the QEMU accepts (when it was probed). */
  qemuApi?: PluginApiRange;
  /** False when this call compiled it. */
  cached: boolean;
}

/** The plugin sources shipped with the package (`plugin/src` next to `src/` and `dist/`). */
export function pluginSourceDir(): string {
  return fileURLToPath(new URL('../../plugin/src', import.meta.url));
}

/** A user cache, not a temp dir: built plugins are kept across runs on purpose. */
export function defaultCacheDir(): string {
  return process.env['QEMU_FAULT_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'qemu-fault');
}

/** The API version to build for a QEMU that accepts `range`. */
export function chooseApiVersion(range: PluginApiRange, qemu: string): number {
  const api = Math.min(range.cur, SUPPORTED_PLUGIN_API.max);
  if (api < Math.max(range.min, SUPPORTED_PLUGIN_API.min)) {
    throw new UnsupportedError(
      'the qemu-fault plugin',
      `${qemu} accepts plugin API ${range.min}..${range.cur}; this package has glue for ${SUPPORTED_PLUGIN_API.min}..${SUPPORTED_PLUGIN_API.max}`,
    );
  }
  return api;
}

/** Builds (or finds in the cache) the plugin for the given QEMU. */
export async function buildPlugin(options: BuildPluginOptions = {}): Promise<BuiltPlugin> {
  const dir = options.cacheDir ?? defaultCacheDir();
  const cc = options.cc ?? process.env['CC'] ?? 'cc';
  const sourceDir = options.sourceDir ?? pluginSourceDir();
  const qemu = options.qemuBinary ?? 'qemu-system-arm';
  const range = options.apiVersion === undefined ? await probePluginApi(qemu, { cacheDir: dir, cc }) : undefined;
  const api = range ? chooseApiVersion(range, qemu) : options.apiVersion!;
  const names = (await readdir(sourceDir)).filter((f) => f.endsWith('.c') || f.endsWith('.h')).sort();
  const hash = createHash('sha256').update(`api=${api}\0cc=${cc}\0cflags=${PLUGIN_CFLAGS.join(' ')}\0`);
  for (const name of names)
    hash
      .update(`${name}\0`)
      .update(await readFile(join(sourceDir, name)))
      .update('\0');
  const key = hash.digest('hex').slice(0, 16);
  await mkdir(dir, { recursive: true });
  const out = join(dir, `qemu_fault_plugin-${key}-api${api}.so`);
  const built = { path: out, apiVersion: api, ...(range ? { qemuApi: range } : {}) };
  if (existsSync(out)) return { ...built, cached: true };
  const sources = names.filter((f) => f.endsWith('.c')).map((f) => join(sourceDir, f));
  await compileSharedObject(cc, sources, out, [`-DQF_PLUGIN_API=${api}`]);
  return { ...built, cached: false };
}
