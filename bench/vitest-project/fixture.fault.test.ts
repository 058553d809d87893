// The fixture's setup and teardown: a QEMU launched before and closed after each test.
// The built packages, on both sides (see launch.fault.test.ts): Vitest transforming the plugin's
// sources once per run would be counted as a cost of every test.
import { expect, test } from '../../packages/vitest-plugin/dist/index.js';
import { COUNT } from './tests.js';

for (let i = 0; i < COUNT; i++) test(`fixture ${i}`, ({ qemu }) => expect(qemu.process.pid).toBeGreaterThan(0));
