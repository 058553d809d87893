// What a user does: copy examples/ into a fresh project outside this workspace, install the two
// packages (packed as they would be published), run vitest; then break one test on purpose and
// read the failure report.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify, stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
let project: string;

async function vitest(args: string[] = []): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['vitest', 'run', ...args], { cwd: project, env: { ...process.env, CI: 'true' } });
    return { code: 0, output: stripVTControlCharacters(stdout + stderr) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: stripVTControlCharacters(e.stdout + e.stderr) };
  }
}

describe('examples/ copied into a fresh project', () => {
  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'qemu-fault-user-'));
    const packs = join(project, '.packs');
    for (const pkg of ['core', 'vitest-plugin']) {
      await run('pnpm', ['pack', '--pack-destination', packs], { cwd: join(repo, 'packages', pkg) });
    }
    await cp(join(repo, 'examples'), project, {
      recursive: true,
      filter: (src) => !/node_modules|[/]firmware[/]build/.test(src),
    });
    const tarballs = (await readdir(packs)).map((f) => join(packs, f));
    const manifest = JSON.parse(await readFile(join(project, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    manifest.devDependencies['@qemu-fault/core'] = `file:${tarballs.find((t) => t.includes('core'))}`;
    manifest.devDependencies['@qemu-fault/vitest'] = `file:${tarballs.find((t) => t.includes('vitest'))}`;
    await writeFile(join(project, 'package.json'), JSON.stringify(manifest, null, 2));
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project });
    await run('make', ['-s', '-C', 'firmware'], { cwd: project });
  }, 300_000);

  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('passes its examples with plain `vitest`', async () => {
    const { code, output } = await vitest();
    expect(output).toMatch(/Tests\s+\S*\d+ passed/);
    expect(code, output).toBe(0);
  }, 120_000);

  it('shows a readable failure with serial output and the injection trace when one is broken', async () => {
    const file = join(project, 'tests', 'silent-corruption.fault.test.ts');
    await writeFile(file, (await readFile(file, 'utf8')).replace('test.fails(', 'test('));
    const { code, output } = await vitest(['tests/silent-corruption']);
    expect(code).not.toBe(0);
    expect(output).toMatch(/result: 0x(?!8d6a7738)[0-9a-f]{8}/); // the serial output, with the corrupted result
    expect(output).toMatch(/\d+ns: write @0x[0-9a-f]+ size 4 value 0x17 from cpu 0/); // the trace
    expect(output).toContain('boot: mps2-an385 faultdemo');
  }, 120_000);
});
