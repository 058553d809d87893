// The plugin side, without QEMU: what qemuFault() does to a project's config and what it provides.
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { createVitest } from 'vitest/node';
import { faultTestInclude, faultTestTimeoutMs, qemuFault } from '../../packages/vitest-plugin/src/config.js';
import { mergeOptions, PROVIDE_KEY, resolvePaths } from '../../packages/vitest-plugin/src/options.js';
import { projectConfig, projectDir } from './run-fixture.js';

const projectsDir = fileURLToPath(new URL('./fixtures/projects/', import.meta.url));
const firmware = fileURLToPath(new URL('../../examples/firmware/build/', import.meta.url));

describe('qemuFault() in vitest.config.ts', () => {
  test('picks up *.fault.test.ts, raises the timeouts and provides absolute paths', async () => {
    const vitest = await createVitest('test', { config: projectConfig, root: projectDir, watch: false, reporters: [] });
    try {
      const [project] = vitest.projects;
      expect(project!.config.include).toEqual([...faultTestInclude]);
      expect(project!.config.testTimeout).toBe(faultTestTimeoutMs);
      expect(project!.config.hookTimeout).toBe(faultTestTimeoutMs);
      const provided = project!.getProvidedContext()[PROVIDE_KEY];
      expect(provided.root).toBe(projectDir.replace(/\/$/, ''));
      expect(provided.options).toMatchObject({
        machine: 'mps2-an385',
        kernel: join(firmware, 'mps2-an385/faultdemo.elf'),
      });
      // `warm` is the fixture's, not a launch option; isolation decides whether a spare may serve the next file.
      expect(provided.options).not.toHaveProperty('warm');
      expect(provided).toMatchObject({ warm: true, isolate: true });
      const files = (await vitest.globTestSpecifications()).map((s) => relative(projectDir, s.moduleId));
      expect(files.length).toBeGreaterThan(0);
      expect(files.every((f) => f.endsWith('.fault.test.ts'))).toBe(true);
    } finally {
      await vitest.close();
    }
  });

  test("keeps a warm spare while a core is idle unless told otherwise ('auto')", () => {
    const provided = (options: Parameters<typeof qemuFault>[0]) => {
      let value: unknown;
      const project = { config: { root: '/proj', isolate: true }, provide: (_key: string, v: unknown) => (value = v) };
      (qemuFault(options).configureVitest as (c: { project: typeof project }) => void)({ project });
      return value as { warm: unknown };
    };
    expect(provided({ machine: 'virt' }).warm).toBe('auto');
    expect(provided({ machine: 'virt', warm: true }).warm).toBe(true);
    expect(provided({ machine: 'virt', warm: false }).warm).toBe(false);
  });

  test('leaves include and timeouts the user set alone', () => {
    const plugin = qemuFault({ machine: 'virt' });
    const config = { test: { include: ['hw/**/*.test.ts'], testTimeout: 1234, hookTimeout: 99 } };
    (plugin.config as (c: typeof config) => void)(config);
    expect(config.test).toEqual({ include: ['hw/**/*.test.ts'], testTimeout: 1234, hookTimeout: 99 });
  });

  test('the built plugin has Node load the built framework, also when it is linked from a workspace', async () => {
    // The built config, as a user's vitest.config.ts imports it (`pnpm test` builds first).
    const built = (await import('../../packages/vitest-plugin/dist/config.js')) as { qemuFault: typeof qemuFault };
    const repo = fileURLToPath(new URL('../../', import.meta.url));
    const config = { test: { server: { deps: { external: [/user-pkg/] as RegExp[] } } } };
    (built.qemuFault({ machine: 'virt' }).config as (c: typeof config) => void)(config);
    const external = config.test.server.deps.external;
    const isExternal = (path: string) => external.some((pattern) => pattern.test(join(repo, path)));
    expect(isExternal('packages/core/dist/launched/launch.js')).toBe(true);
    expect(isExternal('packages/vitest-plugin/dist/fixture.js')).toBe(true);
    expect(isExternal('packages/core/src/index.ts')).toBe(false);
    expect(isExternal('examples/tests/guard.fault.test.ts')).toBe(false);
    expect(external[0]).toEqual(/user-pkg/);
    // From the sources (this repository's own tests) nothing changes: Node could not load them.
    const fromSource = { test: {} };
    (qemuFault({ machine: 'virt' }).config as (c: typeof fromSource) => void)(fromSource);
    expect(fromSource.test).not.toHaveProperty('server');
  });

  test("the README's projects set-up runs each file in exactly one project", async () => {
    const vitest = await createVitest('test', {
      config: join(projectsDir, 'vitest.config.ts'),
      root: projectsDir,
      watch: false,
      reporters: [],
    });
    try {
      const specs = await vitest.globTestSpecifications();
      const byProject = (name: string) =>
        specs
          .filter((s) => s.project.name === name)
          .map((s) => relative(projectsDir, s.moduleId))
          .sort();
      expect(byProject('unit')).toEqual(['src/math.spec.ts', 'src/math.test.ts']);
      expect(byProject('fault')).toEqual(['fault/boot.fault.test.ts', 'src/sensor.fault.test.ts']);
      const fault = vitest.projects.find((p) => p.name === 'fault')!;
      expect(fault.getProvidedContext()[PROVIDE_KEY].options.kernel).toBe(join(projectsDir, 'build/firmware.elf'));
      expect(fault.config.testTimeout).toBe(faultTestTimeoutMs);
      expect(vitest.projects.find((p) => p.name === 'unit')!.getProvidedContext()[PROVIDE_KEY]).toBeUndefined();
    } finally {
      await vitest.close();
    }
  });
});

describe('option merging', () => {
  test('overrides replace keys, append args and merge channels', () => {
    const merged = mergeOptions(
      { machine: 'mps2-an385', kernel: '/a.elf', args: ['-name', 'x'], channels: { gdb: false } },
      { kernel: '/b.elf', args: ['-d', 'int'], channels: { serial: false } },
    );
    expect(merged).toEqual({
      machine: 'mps2-an385',
      kernel: '/b.elf',
      args: ['-name', 'x', '-d', 'int'],
      channels: { gdb: false, serial: false },
    });
  });

  test('relative kernel and qemu paths resolve against the root; a bare qemu name stays for PATH', () => {
    expect(resolvePaths({ kernel: 'fw.elf', qemu: 'qemu-system-arm' }, '/proj')).toEqual({
      kernel: '/proj/fw.elf',
      qemu: 'qemu-system-arm',
    });
    expect(resolvePaths({ kernel: '/abs/fw.elf', qemu: './bin/qemu' }, '/proj')).toEqual({ kernel: '/abs/fw.elf', qemu: '/proj/bin/qemu' });
  });
});
