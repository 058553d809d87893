// Property-based, against real QEMU: random sequences of public API calls with random (and
// hostile) arguments never kill QEMU. Whatever we refuse, we refuse before QEMU sees it; whatever
// we send, QEMU survives (notably setGpio on a line that does not exist, which makes QEMU 7.2's
// qtest abort). A bounded number of runs on one QEMU.
import { inspect } from 'node:util';
import { type LaunchedQemu, launch, QemuFaultError } from '@qemu-fault/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firmware } from '../support/firmware.js';

const hostile = fc.oneof(
  fc.constantFrom(NaN, Infinity, -1, -0, 1.5, 2 ** 53, 2 ** 64, 2n ** 64n, -1n, null, undefined, '0x10', {}, [], Symbol('s')),
  fc.anything({ withBigInt: true, withNullPrototype: true }),
);
/** Anywhere in the 32-bit space, with the edges fast-check favours, or not an address at all. */
const anyAddress = fc.oneof(fc.nat({ max: 0xffff_ffff }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), hostile);
/** RAM on mps2-an385 (code and data), and a hole in the map: writing there changes no device. */
const writable = fc.oneof(
  fc.integer({ min: 0x2000_0000, max: 0x203f_fff0 }),
  fc.integer({ min: 0x0010_0000, max: 0x003f_fff0 }),
  fc.integer({ min: 0x6000_0000, max: 0x6fff_fff0 }),
);
const size = fc.oneof(fc.constantFrom(1, 2, 4, 8), hostile);
const value = fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), hostile);
const qomPath = fc.oneof(
  fc.constantFrom('/machine', '/machine/unattached', '/machine/unattached/device[0]', '/machine/armv7m', '/machine/peripheral-anon', ''),
  fc.string(),
);
const gpioName = fc.oneof(fc.constantFrom(null, undefined, 'unnamed-gpio-in', 'NMI', 'sysresetreq', 'foo bar', ''), fc.string());

/** Any argument, printable (String() throws on some of them). */
const show = (v: unknown): string => inspect(v, { depth: 0, breakLength: Infinity });

type Action = { name: string; run(qemu: LaunchedQemu): Promise<unknown> };
const action: fc.Arbitrary<Action> = fc.oneof(
  fc
    .tuple(anyAddress, size, fc.oneof(fc.constant(0), hostile))
    .map(([a, s, c]): Action => ({ name: `read(${show(a)}, ${show(s)})`, run: (q) => q.read(a as never, s as never, c as never) })),
  fc
    .tuple(anyAddress, size)
    .map(([a, s]): Action => ({ name: `readPhysical(${show(a)}, ${show(s)})`, run: (q) => q.readPhysical(a as never, s as never) })),
  fc.tuple(anyAddress, fc.oneof(fc.nat({ max: 4096 }), hostile), fc.boolean()).map(
    ([a, n, physical]): Action => ({
      name: `readBytes(${show(a)}, ${show(n)})`,
      run: (q) => q.readBytes(a as never, n as never, { physical }),
    }),
  ),
  fc
    .tuple(writable, value, size)
    .map(([a, v, s]): Action => ({ name: `write(${a}, ${show(v)}, ${show(s)})`, run: (q) => q.write(a, v as never, s as never) })),
  fc.tuple(writable, value, size).map(
    ([a, v, s]): Action => ({
      name: `writePhysical(${a}, ${show(v)}, ${show(s)})`,
      run: (q) => q.writePhysical(a, v as never, s as never),
    }),
  ),
  fc
    .tuple(qomPath, gpioName, fc.oneof(fc.integer({ min: -2, max: 100 }), hostile), fc.oneof(fc.constantFrom(0, 1, true, false), hostile))
    .map(
      ([p, g, n, v]): Action => ({
        name: `setGpio(${p}, ${show(g)}, ${show(n)}, ${show(v)})`,
        run: (q) => q.setGpio(p, g as never, n as never, v as never),
      }),
    ),
  fc
    .tuple(qomPath, fc.oneof(fc.constantFrom('type', 'realized', 'hotplugged', 'num-irq'), fc.string()))
    .map(([p, prop]): Action => ({ name: `getQomProperty(${p}, ${prop})`, run: (q) => q.getQomProperty(p, prop) })),
);

describe('real QEMU under random API calls (property)', () => {
  let qemu: LaunchedQemu;
  beforeAll(async () => {
    qemu = await launch({ machine: 'mps2-an385', kernel: firmware(), time: false });
  });
  afterAll(() => qemu?.close());

  it('never dies of what we send it, and every call settles with a result or a QemuFaultError', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), async (actions) => {
        for (const { name, run } of actions) {
          const error = await run(qemu).then(
            () => undefined,
            (err: unknown) => err,
          );
          if (error !== undefined) expect(error, `${name}: ${show(error)}`).toBeInstanceOf(QemuFaultError);
          expect(qemu.process.exitInfo, `QEMU died after ${name}:\n${qemu.process.stderr.text()}`).toBeUndefined();
        }
        expect((await qemu.status()).running).toBe(false);
      }),
      { numRuns: 150, endOnFailure: true },
    );
  });
});
