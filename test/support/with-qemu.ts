import { existsSync } from 'node:fs';
import { type LaunchedQemu, type LaunchOptions, launch } from '@qemu-fault/core';
import { expect } from 'vitest';
import { firmware } from './firmware.js';

/**
 * Launches QEMU on the example firmware (mps2-an385 unless overridden), runs `body`, and always
 * closes it; then checks that the process is gone and its temp dir removed.
 */
export async function withQemu<T>(options: Partial<LaunchOptions>, body: (qemu: LaunchedQemu) => Promise<T>): Promise<T> {
  const qemu = await launch({ machine: 'mps2-an385', kernel: firmware(), ...options });
  try {
    return await body(qemu);
  } finally {
    await qemu.close();
    expect(qemu.process.exitInfo, 'QEMU must have exited').toBeDefined();
    expect(existsSync(qemu.addresses.dir), 'temp dir must be removed').toBe(false);
  }
}
