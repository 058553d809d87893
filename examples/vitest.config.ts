import { qemuFault } from '@qemu-fault/vitest/config';
import { defineConfig } from 'vitest/config';

// Every *.fault.test.ts gets a fresh QEMU on this board and firmware, paused before the first
// instruction; files and describe blocks can override it with test.override({ qemuOptions }).
export default defineConfig({
  plugins: [qemuFault({ machine: 'mps2-an385', kernel: 'firmware/build/mps2-an385/faultdemo.elf' })],
  test: { name: 'examples' },
});
