/** The plugin's C source compiles cleanly for every plugin API version it has glue for. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../packages/core/src/errors.js';
import { chooseApiVersion, pluginSourceDir, SUPPORTED_PLUGIN_API } from '../../packages/core/src/plugin/build-plugin.js';
import { compileSharedObject } from '../../packages/core/src/plugin/compile.js';
import { scratchDir } from '../support/scratch.js';

const versions = Array.from({ length: SUPPORTED_PLUGIN_API.max - SUPPORTED_PLUGIN_API.min + 1 }, (_, i) => SUPPORTED_PLUGIN_API.min + i);

describe('the plugin source', () => {
  it.each(versions)('compiles without a warning for plugin API %i', { timeout: 60_000 }, async (api) => {
    const dir = await scratchDir('qf-plugin-build-');
    const sources = (await readdir(pluginSourceDir())).filter((f) => f.endsWith('.c')).map((f) => join(pluginSourceDir(), f));
    await expect(
      compileSharedObject(process.env['CC'] ?? 'cc', sources, join(dir, 'p.so'), [`-DQF_PLUGIN_API=${api}`, '-Wall', '-Wextra', '-Werror']),
    ).resolves.toBeUndefined();
  });

  it('is built for the QEMU current API version, capped at what it has glue for', () => {
    expect(chooseApiVersion({ min: 0, cur: 1 }, 'q')).toBe(1);
    expect(chooseApiVersion({ min: 2, cur: 4 }, 'q')).toBe(4);
    expect(chooseApiVersion({ min: 7, cur: 7 }, 'q')).toBe(7);
    expect(chooseApiVersion({ min: 7, cur: 9 }, 'q')).toBe(7); // a newer QEMU still accepting 7
    expect(() => chooseApiVersion({ min: 8, cur: 9 }, 'qemu-system-arm')).toThrow(UnsupportedError);
    expect(() => chooseApiVersion({ min: 8, cur: 9 }, 'qemu-system-arm')).toThrow(
      /accepts plugin API 8\.\.9; this package has glue for 1\.\.7/,
    );
  });
});
