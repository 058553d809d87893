import { isAbsolute, resolve } from 'node:path';
import type { LaunchOptions } from '@qemu-fault/core';

/**
 * Launch options set in `vitest.config.ts` with `qemuFault(...)`. They travel from the config to the
 * test workers through `provide`/`inject`, which only carries serializable values, so the `log`
 * callback is left out (set it per file with `qemuOptions`). `machine` is optional here so a config
 * can leave it to each file.
 */
export type QemuFaultConfig = Partial<Omit<LaunchOptions, 'log'>> & {
  /**
   * Keep one QEMU launched ahead per worker, with the last test's options, so that the next test
   * with the same options starts at once (see the README, "Warm spares"). `'auto'` (the default):
   * only while the machine has a core to spare, which a spare's start-up needs (not with as many
   * busy workers as cores, nor under other jobs' load); `true`: always; `false`: never, each test's
   * QEMU is launched when the test starts.
   */
  warm?: boolean | 'auto';
};

/**
 * Per-file or per-`describe` changes to the config's launch options (the `qemuOptions` fixture).
 * Keys replace the config's values, except `args`, which are appended to the config's `args`, and
 * `channels`, which are merged key by key. Relative `kernel` and `qemu` paths are resolved against
 * the Vitest project's root, as in the config.
 */
export type QemuOptions = Partial<LaunchOptions>;

/** What the plugin provides to workers under {@link PROVIDE_KEY}. */
export interface ProvidedQemuConfig {
  /** The Vitest project's root: the base for relative paths in per-file overrides. */
  root: string;
  /** The config's launch options, paths already absolute. */
  options: Omit<QemuFaultConfig, 'warm'>;
  /** Whether the `qemu` fixture keeps a warm spare (see {@link QemuFaultConfig.warm}). */
  warm: boolean | 'auto';
  /** The project's `isolate`: whether each worker runs a single test file. */
  isolate: boolean;
}

/** The `provide`/`inject` key; namespaced so it cannot clash with a user's own provided values. */
export const PROVIDE_KEY = 'qemuFault:config';

/** The `type` of the artifact recorded for a failed test (see `QemuDiagnosticsArtifact`). */
export const DIAGNOSTICS_ARTIFACT = 'qemu-fault:diagnostics';

declare module 'vitest' {
  interface ProvidedContext {
    'qemuFault:config': ProvidedQemuConfig;
  }
}

/** Makes `kernel` and a `qemu` given as a path (not a bare name looked up on PATH) absolute against `root`. */
export function resolvePaths<T extends QemuOptions>(options: T, root: string): T {
  const out = { ...options };
  if (out.kernel) out.kernel = resolve(root, out.kernel);
  if (out.qemu && !isAbsolute(out.qemu) && /[\\/]/.test(out.qemu)) out.qemu = resolve(root, out.qemu);
  return out;
}

/** Applies per-file/describe overrides on top of the config's options (see {@link QemuOptions}). */
export function mergeOptions(base: QemuFaultConfig, override: QemuOptions): QemuOptions {
  const merged: QemuOptions = { ...base, ...override };
  if (base.args || override.args) merged.args = [...(base.args ?? []), ...(override.args ?? [])];
  if (base.channels || override.channels) merged.channels = { ...base.channels, ...override.channels };
  return merged;
}
