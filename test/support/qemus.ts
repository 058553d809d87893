/**
 * The QEMU versions the QEMU-facing suites run on: the system's, plus every install of
 * `scripts/install-qemus.sh` (or the bin dirs listed in `$QEMU_FAULT_QEMUS`, colon separated;
 * `system` stands for PATH). vitest.config.ts makes one project per version and sets
 * `$QEMU_FAULT_QEMU_DIR` in it, which `launch()` and {@link qemuBinary} honour.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface QemuUnderTest {
  /** e.g. `7.2.22` */
  version: string;
  /** Directory of its `qemu-system-*` binaries, or undefined for the ones on PATH. */
  dir: string | undefined;
}

export type QemuTarget = 'arm' | 'aarch64' | 'riscv32' | 'riscv64';

function versionOf(binary: string): string | undefined {
  try {
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 });
    return /version (\d+\.\d+\.\d+)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

function cacheRoot(): string {
  return join(
    process.env['QEMU_FAULT_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'qemu-fault'),
    'qemu',
  );
}

function installed(): string[] {
  const root = cacheRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'VERSION')))
    .map((name) => join(root, name, 'bin'));
}

/** Every QEMU to test on, system first, without duplicate versions. */
export function qemusUnderTest(): QemuUnderTest[] {
  const listed = process.env['QEMU_FAULT_QEMUS'];
  const dirs: (string | undefined)[] = listed
    ? listed.split(':').map((d) => (d === 'system' ? undefined : d))
    : [undefined, ...installed()];
  const found: QemuUnderTest[] = [];
  for (const dir of dirs) {
    const version = versionOf(dir ? join(dir, 'qemu-system-arm') : 'qemu-system-arm');
    if (version && !found.some((q) => q.version === version)) found.push({ version, dir });
  }
  return found;
}

/** The QEMU binary for `target` of the project's QEMU. */
export function qemuBinary(target: QemuTarget = 'arm'): string {
  const dir = process.env['QEMU_FAULT_QEMU_DIR'];
  return dir ? join(dir, `qemu-system-${target}`) : `qemu-system-${target}`;
}

/** The version of the project's QEMU, e.g. `10.0.2`. */
export function qemuVersion(): string {
  const pinned = process.env['QEMU_FAULT_QEMU_VERSION'];
  if (pinned) return pinned;
  return versionOf(qemuBinary()) ?? 'unknown';
}

/** `[major, minor]` of the project's QEMU, for version-dependent expectations. */
export function qemuRelease(): [number, number] {
  const [major = 0, minor = 0] = qemuVersion().split('.').map(Number);
  return [major, minor];
}

/** Whether the project's QEMU has a binary for `target` (a matrix install may lack one). */
export function hasQemuTarget(target: QemuTarget): boolean {
  const dir = process.env['QEMU_FAULT_QEMU_DIR'];
  if (dir) return existsSync(join(dir, `qemu-system-${target}`));
  return versionOf(`qemu-system-${target}`) !== undefined;
}
