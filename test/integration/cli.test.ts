// The `qemu-fault` command line, run as a user runs it: a child process, its exit code, its
// output. QEMUs are started either by hand (as the README shows) or by `qemu-fault launch`.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { firmware } from '../support/firmware.js';
import { alive, cleanEnv, eventually } from '../support/processes.js';
import { qemuBinary, qemuVersion } from '../support/qemus.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const mainTs = join(root, 'packages/core/src/cli/main.ts');
const builtBin = join(root, 'packages/core/dist/cli/main.js');
const scenarios = join(root, 'examples/scenarios');

interface Run {
  child: ChildProcess;
  code: Promise<number | null>;
  out(): string;
  err(): string;
}

const cleanups: Array<() => Promise<unknown> | undefined> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs the CLI from source (tsx), as `qemu-fault ...args`. */
function cli(args: string[], options: { input?: string; cwd?: string } = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs, ...args], {
    cwd: options.cwd ?? root,
    env: cleanEnv(),
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  if (options.input !== undefined) child.stdin!.end(options.input);
  const code = new Promise<number | null>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? -1 : null))));
  cleanups.push(() => void child.kill('SIGKILL'));
  return { child, code, out: () => out, err: () => err };
}

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-cli-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A QEMU started the README's way, with every side channel and our plugin on sockets in `dir`. */
async function handStarted(): Promise<{ dir: string; pid: number; connect: string[] }> {
  const dir = await scratch();
  const sock = (name: string) => join(dir, `${name}-sock`);
  const plugin = cli(['plugin', '--qemu', qemuBinary(), '--socket', sock('plugin'), '--json']);
  expect(await plugin.code, plugin.err()).toBe(0);
  const { args: pluginArgs, socket } = JSON.parse(plugin.out()) as { args: string[]; socket: string };
  expect(socket).toBe(sock('plugin'));
  const child = spawn(
    qemuBinary(),
    [
      '-M',
      'mps2-an385',
      '-kernel',
      firmware(),
      '-S',
      '-display',
      'none',
      '-nodefaults',
      '-accel',
      'tcg',
      ...pluginArgs,
      '-semihosting-config',
      'enable=on,target=native',
      '-qmp',
      `unix:${sock('qmp')},server=on,wait=off`,
      '-qtest',
      `unix:${sock('qtest')},server=on,wait=off`,
      '-qtest-log',
      '/dev/null',
      '-gdb',
      `unix:${sock('gdb')},server=on,wait=off`,
      '-chardev',
      `socket,id=uart,path=${sock('serial')},server=on,wait=off`,
      '-serial',
      'chardev:uart',
    ],
    { stdio: 'ignore' },
  );
  cleanups.push(() => void child.kill('SIGKILL'));
  expect(await eventually(() => ['qmp', 'qtest', 'gdb', 'serial', 'plugin'].every((n) => existsSync(sock(n))), 10_000)).toBe(true);
  const connect = [sock('qmp'), ...['qtest', 'gdb', 'serial', 'plugin'].flatMap((n) => [`--${n}`, sock(n)]), '--kernel', firmware()];
  return { dir, pid: child.pid!, connect };
}

/** `qemu-fault launch --json`: resolves once it printed where QEMU listens. */
async function launched(
  extra: string[] = [],
): Promise<{ run: Run; info: { pid: number; dir: string; qmp: string; qtest: string; gdb: string; serial: string; plugin: string } }> {
  const run = cli(['launch', firmware(), '--json', ...extra]);
  expect(await eventually(() => run.out().includes('\n') || run.child.exitCode !== null, 15_000), run.err()).toBe(true);
  return { run, info: JSON.parse(run.out().split('\n')[0]!) };
}

describe('qemu-fault (usage)', () => {
  // A dozen CLI processes, each a cold start from source: together, so that a loaded machine's
  // slow starts do not add up past the test's time limit.
  it('has --help for itself and every command, and exits 2 on misuse', { timeout: 90_000 }, async () => {
    const help = cli(['--help']);
    const commands = ['run', 'repl', 'launch', 'plugin'].map((command) => ({ command, run: cli([command, '--help']) }));
    const misuses = [
      [],
      ['bogus'],
      ['run'],
      ['run', 'x.ts'],
      ['repl', 'a', 'b'],
      ['run', 'x.ts', 'sock', '--verbose', '7'],
      ['launch', firmware(), '--no-such-option'],
    ].map((args) => ({ args, run: cli(args) }));
    expect(await help.code).toBe(0);
    expect(help.out()).toMatch(/Usage: qemu-fault <command>[\s\S]*run <scenario> <qmp-address>[\s\S]*Exit codes: 0 ok, 1/);
    for (const { command, run } of commands) {
      expect(await run.code, command).toBe(0);
      expect(run.out()).toContain(`Usage: qemu-fault ${command}`);
    }
    for (const { args, run } of misuses) {
      expect(await run.code, args.join(' ')).toBe(2);
      expect(run.err()).toMatch(/qemu-fault/);
    }
  });

  it('exits 2 for an unusable scenario file, 3 when QEMU cannot be reached', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'no-default.mjs'), 'export const x = 1;\n');
    const missing = cli(['run', join(dir, 'nope.ts'), join(dir, 'qmp')]);
    const noDefault = cli(['run', join(dir, 'no-default.mjs'), join(dir, 'qmp')]);
    const unreachable = cli(['run', join(scenarios, 'empty.ts'), join(dir, 'qmp'), '--timeout', '300']);
    const replUnreachable = cli(['repl', '127.0.0.1:1']);
    expect([await missing.code, await noDefault.code, await unreachable.code, await replUnreachable.code]).toEqual([2, 2, 3, 3]);
    expect(missing.err()).toMatch(/scenario file not found/);
    expect(noDefault.err()).toMatch(/must default-export the scenario function/);
    expect(unreachable.err()).toMatch(/cannot connect to QEMU at .*qmp: ConnectionError: .*ENOENT/);
  });

  it('the built bin runs at the repo root and in examples/ (after pnpm build)', async () => {
    if (!existsSync(builtBin)) return;
    for (const cwd of [root, join(root, 'examples')]) {
      const run = spawn('pnpm', ['exec', 'qemu-fault', '--help'], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      run.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      expect(await new Promise((resolve) => run.once('exit', resolve)), cwd).toBe(0);
      expect(out).toContain('Usage: qemu-fault');
    }
  });
});

describe('qemu-fault run / repl, against a QEMU started by hand', () => {
  it('runs the ported "write_mem_callback" example (exit 0) and leaves QEMU to its owner', async () => {
    const qemu = await handStarted();
    const run = cli(['run', join(scenarios, 'write-mem-callback.ts'), ...qemu.connect, '--verbose', '1'], { cwd: join(root, 'examples') });
    expect(await run.code, run.err()).toBe(0);
    expect(run.out()).toMatch(/write @0x[0-9a-f]+ size 4 value 0xdeadbeef from cpu 0/);
    // notify(1 s) as the original did: the plugin froze the guest there (or at its wake-up right after)
    const at = /(\d+) ns: read back 0xdeadbeef/.exec(run.out());
    expect(Number(at?.[1])).toBeGreaterThanOrEqual(1_000_000_000);
    expect(Number(at?.[1])).toBeLessThan(1_010_000_000);
  });

  it('runs the ported "empty" example to the firmware\'s end (exit 0)', async () => {
    const qemu = await handStarted();
    const run = cli(['run', join(scenarios, 'empty.ts'), ...qemu.connect]);
    expect(await run.code, run.err()).toBe(0);
    expect(run.out()).toContain('stopped: exit');
    expect(await eventually(() => !alive(qemu.pid))).toBe(true); // the firmware's semihosting exit ended it
  });

  it('exits 1 when the scenario throws, 4 when QEMU goes away under it, with the error on stderr', async () => {
    const dir = await scratch();
    await writeFile(
      join(dir, 'fails.mjs'),
      "export default async (inj) => { await inj.status(); throw new Error('firmware did not reach the safe state'); };\n",
    );
    await writeFile(
      join(dir, 'kills.mjs'),
      "export default async (inj, { args }) => { process.kill(Number(args[0]), 'SIGKILL'); await new Promise((r) => setTimeout(r, 200)); await inj.status(); };\n",
    );
    const qemu = await handStarted();
    const fails = cli(['run', join(dir, 'fails.mjs'), ...qemu.connect]);
    expect(await fails.code).toBe(1);
    expect(fails.err()).toMatch(/scenario .*fails\.mjs failed: Error: firmware did not reach the safe state\n\s+at /);
    expect(alive(qemu.pid)).toBe(true); // a failed scenario does not touch the user's QEMU
    const kills = cli(['run', join(dir, 'kills.mjs'), ...qemu.connect, '--', String(qemu.pid)]);
    expect(await kills.code).toBe(4);
    expect(kills.err()).toMatch(/ConnectionClosedError: .*QMP connection to .* ended/);
  });

  it('exits 130 on Ctrl-C, disconnecting and leaving QEMU running', async () => {
    const dir = await scratch();
    await writeFile(
      join(dir, 'waits.mjs'),
      "export default async (inj) => { console.log('waiting'); await inj.serial.waitFor('never', { timeoutMs: 60000 }); };\n",
    );
    const qemu = await handStarted();
    const run = cli(['run', join(dir, 'waits.mjs'), ...qemu.connect]);
    expect(await eventually(() => run.out().includes('waiting'), 15_000)).toBe(true);
    run.child.kill('SIGINT');
    expect(await run.code).toBe(130);
    expect(run.err()).toMatch(/interrupted by SIGINT/);
    expect(alive(qemu.pid)).toBe(true);
  });

  it('repl: connects, prints the QEMU version, evaluates with top-level await, exits 0 on .exit', async () => {
    const qemu = await handStarted();
    const input = [
      'inj.version',
      "(await inj.read(inj.symbol('run_ticks'), 4)).toString(16)",
      'inj = null',
      'typeof inj',
      '.exit',
      '',
    ].join('\n');
    const run = cli(['repl', ...qemu.connect], { input });
    expect(await run.code, run.err()).toBe(0);
    expect(run.out()).toMatch(new RegExp(`^Connected to QEMU ${qemuVersion().replaceAll('.', '\\.')} .*at .*qmp-sock\\.`));
    expect(run.out()).toContain("'14'"); // run_ticks = 20
    expect(run.out()).toContain("'object'"); // inj cannot be overwritten by accident
    expect(alive(qemu.pid)).toBe(true);
  });
});

describe('qemu-fault launch', () => {
  it('prints addresses run can attach to, and ends (exit 0) when the guest exits, removing its dir', async () => {
    const { run, info } = await launched();
    expect(info.qmp.startsWith(info.dir)).toBe(true);
    const scenario = cli([
      'run',
      join(scenarios, 'write-mem-callback.ts'),
      info.qmp,
      '--qtest',
      info.qtest,
      '--gdb',
      info.gdb,
      '--serial',
      info.serial,
      '--plugin',
      info.plugin,
      '--kernel',
      firmware(),
    ]);
    expect(await scenario.code, scenario.err()).toBe(0);
    expect(scenario.out()).toMatch(/\d+ ns: read back 0xdeadbeef/);
    expect(await run.code).toBe(0);
    expect(run.err()).toMatch(/QEMU ended: QEMU exited with code 0/);
    expect(existsSync(info.dir)).toBe(false);
  });

  it('prints a copy-pasteable summary by default', async () => {
    const run = cli(['launch', firmware()]);
    expect(await eventually(() => run.out().includes('Ctrl-C ends QEMU'), 15_000), run.err()).toBe(true);
    expect(run.out()).toMatch(/qemu-fault repl \S+qmp\.sock --qtest \S+ --gdb \S+ --serial \S+ --plugin \S+plugin\.sock --kernel /);
    run.child.kill('SIGTERM');
    expect(await run.code).toBe(0);
  });

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    it(`${signal} ends QEMU and removes the dir`, async () => {
      const { run, info } = await launched();
      expect(alive(info.pid)).toBe(true);
      run.child.kill(signal);
      expect(await run.code).toBe(signal === 'SIGKILL' ? -1 : 0);
      expect(await eventually(() => !alive(info.pid))).toBe(true);
      expect(await eventually(() => !existsSync(info.dir))).toBe(true);
    });
  }

  it('exits 2 for a kernel that is not an ELF file, 3 when QEMU refuses to start', async () => {
    const dir = await scratch();
    await mkdir(join(dir, 'd'));
    const notElf = cli(['launch', join(dir, 'd')]);
    const refused = cli(['launch', firmware(), '--machine', 'no-such-board']);
    expect([await notElf.code, await refused.code]).toEqual([2, 3]);
    expect(refused.err()).toMatch(/cannot launch QEMU: LaunchError: QEMU exited before it was ready[\s\S]*unsupported machine type/);
  });
});
