/**
 * `@qemu-fault/vitest`: fault tests on real QEMU with Vitest. Import it from test files only; the
 * config side (`qemuFault()`) is `@qemu-fault/vitest/config`.
 *
 * ```ts
 * import { describe, expect, test } from '@qemu-fault/vitest';
 * ```
 */
import './matchers.js';

/** Vitest's `expect`, with the serial matchers of {@link QemuFaultMatchers} registered. */
export { describe, expect } from 'vitest';
export { type QemuFixtures, test, test as it } from './fixture.js';
export type { QemuFaultMatchers, SerialSource } from './matchers.js';
export { DIAGNOSTICS_ARTIFACT, type QemuFaultConfig, type QemuOptions } from './options.js';
export {
  type QemuDiagnostics,
  type QemuDiagnosticsArtifact,
  type QemuDiagnosticsAttachment,
  QemuFailureReport,
} from './report.js';
