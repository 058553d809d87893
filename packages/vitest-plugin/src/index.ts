/**
 * `@qemu-fault/vitest`: fault tests on real QEMU with Vitest. Import it from test files only; the
 * config side (`qemuFault()`) is `@qemu-fault/vitest/config`.
 *
 * ```ts
 * import { describe, expect, test } from '@qemu-fault/vitest';
 * ```
 */
import './matchers.js';

export { test, test as it, type QemuFixtures } from './fixture.js';
/** Vitest's `expect`, with the serial matchers of {@link QemuFaultMatchers} registered. */
export { expect, describe } from 'vitest';
export type { QemuFaultMatchers, SerialSource } from './matchers.js';
export {
  QemuFailureReport,
  type QemuDiagnostics,
  type QemuDiagnosticsArtifact,
  type QemuDiagnosticsAttachment,
} from './report.js';
export { DIAGNOSTICS_ARTIFACT, type QemuFaultConfig, type QemuOptions } from './options.js';
