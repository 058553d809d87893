import type { SerialCapture, WaitForOptions } from '@qemu-fault/core';
import { expect, type MatcherResult, type MatcherState } from 'vitest';

/** A matcher's verdict (Vitest exports only the sync-or-async union). */
type SyncExpectationResult = Awaited<MatcherResult>;

/** Anything with a serial capture: a `qemu` from the fixture, a framework, or the capture itself. */
export type SerialSource = SerialCapture | { readonly serial: SerialCapture };

/** The matchers `@qemu-fault/vitest` adds to `expect`. */
export interface QemuFaultMatchers<R = unknown> {
  /**
   * Waits until the guest prints `pattern` on its serial port (a string matches literally); the
   * output so far counts, unless `fresh`. Fails when `timeoutMs` (default 10 000) passes or QEMU
   * exits first, quoting the output's tail. Must be awaited.
   *
   * With `.not`, waits the whole `timeoutMs` and fails if the pattern appears in that time.
   *
   * ```ts
   * await expect(qemu).toPrintOnSerial(/SAFE STATE/, { timeoutMs: 5000 });
   * await expect(qemu).not.toPrintOnSerial('FAULT', { timeoutMs: 500 });
   * ```
   */
  toPrintOnSerial(pattern: string | RegExp, options?: WaitForOptions): Promise<R>;
  /**
   * Checks the serial output captured so far, without waiting: a string must occur in it, a
   * RegExp must match it.
   *
   * ```ts
   * expect(qemu.serial).toContainOutput('auth: denied');
   * ```
   */
  toContainOutput(expected: string | RegExp): R;
}

declare module 'vitest' {
  // `Assertion` is what `expect(x)` returns; augmenting it (not `Matchers`) keeps these off the
  // asymmetric `expect.*` helpers, where an async serial wait makes no sense.
  // biome-ignore lint/suspicious/noExplicitAny: an augmentation must declare the type parameter exactly as Vitest does.
  interface Assertion<T = any> extends QemuFaultMatchers<void> {}
}

const TAIL_CHARS = 800;

function serialOf(received: unknown, matcher: string): SerialCapture {
  // Duck-typed, not `instanceof`: the test may load another copy of the core than this package.
  const r = received as Partial<SerialCapture & { serial: SerialCapture }> | null;
  if (r && typeof r.waitFor === 'function' && typeof r.text === 'string') return r as SerialCapture;
  if (r && typeof r === 'object' && 'serial' in r) return r.serial as SerialCapture;
  throw new TypeError(`${matcher}() expects the \`qemu\` fixture, a framework or a SerialCapture, got ${typeof received}`);
}

function tail(text: string): string {
  if (!text) return '(no serial output)';
  return text.length > TAIL_CHARS ? `…${text.slice(-TAIL_CHARS)}` : text;
}

function describePattern(pattern: string | RegExp): string {
  return typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern);
}

expect.extend({
  async toPrintOnSerial(
    this: MatcherState,
    received: unknown,
    pattern: string | RegExp,
    options: WaitForOptions = {},
  ): Promise<SyncExpectationResult> {
    const serial = serialOf(received, 'toPrintOnSerial');
    const what = describePattern(pattern);
    try {
      const match = await serial.waitFor(pattern, options);
      return {
        pass: true,
        message: () =>
          `expected the guest not to print ${what} on its serial port, but it printed ${JSON.stringify(match[0])}\nserial output:\n${tail(serial.text)}`,
      };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'TIMEOUT' && code !== 'CONNECTION_CLOSED') throw err;
      // The core's message already says why (timeout or QEMU exit) and quotes the output's tail.
      return { pass: false, message: () => (err as Error).message };
    }
  },

  toContainOutput(this: MatcherState, received: unknown, expected: string | RegExp): SyncExpectationResult {
    const serial = serialOf(received, 'toContainOutput');
    const text = serial.text;
    const pass =
      typeof expected === 'string' ? text.includes(expected) : new RegExp(expected.source, expected.flags.replace('g', '')).test(text);
    const what = describePattern(expected);
    return {
      pass,
      message: () =>
        pass
          ? `expected the serial output not to contain ${what}\nserial output:\n${tail(text)}`
          : `expected the serial output to contain ${what}\nserial output:\n${tail(text)}`,
      actual: text,
      expected: typeof expected === 'string' ? expected : String(expected),
    };
  },
});
