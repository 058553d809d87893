/**
 * Compiles packages/core/plugin/qemu_fault_plugin.c with the machine's C compiler on first use and
 * caches the shared object, keyed by the source's hash, the compiler and the plugin API version
 * that the QEMU binary wants.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChannelUnavailableError, LaunchError } from '../errors.js';

/** The plugin API versions this source knows how to build for (QEMU 7.2 speaks 1). */
export const SUPPORTED_PLUGIN_API = { min: 1, max: 1 } as const;

export interface BuildPluginOptions {
  /** QEMU binary whose plugin API version to target (default `qemu-system-arm`). */
  qemuBinary?: string;
  /** Where built plugins are kept (default `$QEMU_FAULT_CACHE_DIR` or `~/.cache/qemu-fault`). */
  cacheDir?: string;
  /** C compiler (default `$CC` or `cc`). */
  cc?: string;
  /** Skip probing QEMU and build for this API version. */
  apiVersion?: number;
  /** Plugin source (default: the one shipped in packages/core/plugin). */
  source?: string;
}

export interface BuiltPlugin {
  path: string;
  apiVersion: number;
  /** False when this call compiled it. */
  cached: boolean;
}

/** The plugin source shipped with the package (`plugin/` next to `src/` and `dist/`). */
export function pluginSourcePath(): string {
  return fileURLToPath(new URL('../../plugin/qemu_fault_plugin.c', import.meta.url));
}

/** A user cache, not a temp dir: built plugins are kept across runs on purpose. */
function defaultCacheDir(): string {
  return process.env['QEMU_FAULT_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'qemu-fault');
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(err);
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function compile(cc: string, source: string, out: string, defines: string[]): Promise<void> {
  const tmp = `${out}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let res;
  try {
    res = await run(cc, ['-shared', '-fPIC', '-O2', '-fvisibility=hidden', ...defines, '-o', tmp, source, '-lpthread'], 60_000);
  } catch (err) {
    throw new ChannelUnavailableError('plugin', 'Building the TCG plugin', `No C compiler '${cc}' (set CC or install gcc): ${String(err)}`);
  }
  if (res.code !== 0) {
    await rm(tmp, { force: true });
    throw new LaunchError(
      `compiling ${source} with ${cc} failed`,
      res.stderr.trim().split('\n').slice(-20).join('\n'),
      res.code ?? undefined,
    );
  }
  await rename(tmp, out); // atomic: concurrent builders end with the same file
}

const PROBE_SOURCE = `/* declares an impossible plugin API version so QEMU answers with the one it supports */
__attribute__((visibility("default"))) int qemu_plugin_version = 0x7fffffff;
__attribute__((visibility("default"))) int qemu_plugin_install(unsigned long long id, const void *info, int argc, char **argv)
{ (void)id; (void)info; (void)argc; (void)argv; return 1; }
`;

/**
 * Asks QEMU which plugin API version it implements, by loading a probe plugin that claims an
 * impossible version: QEMU refuses it with "... supports only up to version N".
 */
export async function detectPluginApi(options: { qemuBinary?: string; cacheDir?: string; cc?: string } = {}): Promise<number> {
  const qemu = options.qemuBinary ?? 'qemu-system-arm';
  const dir = options.cacheDir ?? defaultCacheDir();
  const cc = options.cc ?? process.env['CC'] ?? 'cc';
  await mkdir(dir, { recursive: true });
  const probeSrc = join(dir, 'probe.c');
  const probe = join(dir, `probe-${createHash('sha256').update(PROBE_SOURCE).digest('hex').slice(0, 12)}.so`);
  if (!existsSync(probe)) {
    await writeFile(probeSrc, PROBE_SOURCE);
    await compile(cc, probeSrc, probe, []);
  }
  let res;
  try {
    res = await run(qemu, ['-M', 'none', '-display', 'none', '-nodefaults', '-plugin', probe], 20_000);
  } catch (err) {
    throw new LaunchError(`cannot run ${qemu}`, String(err));
  }
  const up = /supports only up to version (\d+)/.exec(res.stderr);
  if (up) return Number(up[1]);
  if (/invalid option|plugin.*not supported|TCG plugins not/i.test(res.stderr))
    throw new ChannelUnavailableError('plugin', 'The TCG plugin', `${qemu} was built without plugin support.`);
  throw new LaunchError(`could not learn ${qemu}'s plugin API version`, res.stderr.trim(), res.code ?? undefined);
}

/** Builds (or finds in the cache) the plugin for the given QEMU. */
export async function buildPlugin(options: BuildPluginOptions = {}): Promise<BuiltPlugin> {
  const dir = options.cacheDir ?? defaultCacheDir();
  const cc = options.cc ?? process.env['CC'] ?? 'cc';
  const source = options.source ?? pluginSourcePath();
  const qemuApi = options.apiVersion ?? (await detectPluginApi({ qemuBinary: options.qemuBinary, cacheDir: dir, cc }));
  if (qemuApi < SUPPORTED_PLUGIN_API.min)
    throw new ChannelUnavailableError('plugin', 'The TCG plugin', `QEMU plugin API ${qemuApi} is older than ${SUPPORTED_PLUGIN_API.min}.`);
  // A newer QEMU keeps accepting older plugins unless it raised its minimum; build for what we know.
  const api = Math.min(qemuApi, SUPPORTED_PLUGIN_API.max);
  const text = await readFile(source);
  const key = createHash('sha256').update(text).update(`\0api=${api}\0cc=${cc}`).digest('hex').slice(0, 16);
  await mkdir(dir, { recursive: true });
  const out = join(dir, `qemu_fault_plugin-${key}-api${api}.so`);
  if (existsSync(out)) return { path: out, apiVersion: api, cached: true };
  await compile(cc, source, out, [`-DQF_PLUGIN_API=${api}`]);
  return { path: out, apiVersion: api, cached: false };
}
