/**
 * Which TCG plugin API versions a QEMU binary accepts. QEMU states its range only when it refuses a
 * plugin: one that claims an impossibly new version makes it say "supports only up to version N",
 * one that claims an impossibly old one "only a minimum version of M". Answers are cached per
 * binary (path, size, mtime).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChannelUnavailableError, LaunchError } from '../errors.js';
import { compileSharedObject, runBounded } from './compile.js';

/** The plugin API versions a QEMU accepts. */
export interface PluginApiRange {
  min: number;
  cur: number;
}

const probeSource = (version: number) => `/* claims plugin API ${version} so that QEMU names the versions it accepts */
__attribute__((visibility("default"))) int qemu_plugin_version = ${version};
__attribute__((visibility("default"))) int qemu_plugin_install(unsigned long long id, const void *info, int argc, char **argv)
{ (void)id; (void)info; (void)argc; (void)argv; return 1; }
`;

const TOO_NEW = 0x7fffffff;
const TOO_OLD = -1;

async function probePlugin(dir: string, cc: string, version: number): Promise<string> {
  const source = probeSource(version);
  const name = `probe-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`;
  const so = join(dir, `${name}.so`);
  if (!existsSync(so)) {
    const c = join(dir, `${name}.c`);
    await writeFile(c, source);
    await compileSharedObject(cc, [c], so, []);
  }
  return so;
}

/** What QEMU says when it refuses the probe. */
async function refusal(qemu: string, probe: string): Promise<string> {
  try {
    const res = await runBounded(qemu, ['-M', 'none', '-display', 'none', '-nodefaults', '-plugin', probe], 20_000);
    return res.stderr;
  } catch (err) {
    throw new LaunchError(`cannot run ${qemu}`, String(err));
  }
}

/** Undefined for a bare name on PATH: nothing would tell when that binary changes. */
async function cacheKey(qemu: string): Promise<string | undefined> {
  const s = await stat(qemu).catch(() => undefined);
  if (!s) return undefined;
  return createHash('sha256').update(`${qemu}\0${s.size}\0${s.mtimeMs}`).digest('hex').slice(0, 16);
}

/** Asks `qemu` which plugin API versions it accepts. */
export async function probePluginApi(qemu: string, options: { cacheDir: string; cc: string }): Promise<PluginApiRange> {
  const dir = join(options.cacheDir, 'probes');
  await mkdir(dir, { recursive: true });
  const key = await cacheKey(qemu);
  const cached = key && join(dir, `api-${key}.json`);
  const known =
    cached &&
    (await readFile(cached, 'utf8').then(
      (text) => JSON.parse(text) as PluginApiRange,
      () => undefined,
    ));
  if (known) return known;
  const [tooNew, tooOld] = await Promise.all([probePlugin(dir, options.cc, TOO_NEW), probePlugin(dir, options.cc, TOO_OLD)]);
  const [upTo, minimum] = await Promise.all([refusal(qemu, tooNew), refusal(qemu, tooOld)]);
  const cur = /supports only up to version (\d+)/.exec(upTo)?.[1];
  if (cur === undefined) {
    if (/invalid option|plugin.*not supported|TCG plugins not/i.test(upTo)) {
      throw new ChannelUnavailableError('plugin', 'The TCG plugin', `${qemu} was built without plugin support.`);
    }
    throw new LaunchError(`could not learn ${qemu}'s plugin API version`, upTo.trim());
  }
  const min = /only a minimum version of (\d+)/.exec(minimum)?.[1] ?? '0';
  const range = { min: Number(min), cur: Number(cur) };
  if (cached) await writeFile(cached, JSON.stringify(range));
  return range;
}
