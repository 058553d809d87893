// The fixture's setup and teardown: a QEMU launched before and closed after each test.
import { expect, test } from '../../packages/vitest-plugin/src/index.js';
import { COUNT } from './tests.js';

for (let i = 0; i < COUNT; i++) test(`fixture ${i}`, ({ qemu }) => expect(qemu.process.pid).toBeGreaterThan(0));
