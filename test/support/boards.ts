/**
 * The boards of examples/firmware beyond Cortex-M3, one per architecture family, with what the
 * table-driven arch tests (test/integration/arch-*.test.ts) need to know about each.
 */
import type { ArchitectureId, LaunchOptions, RegisterName } from '@qemu-fault/core';
import { type Board, firmware } from './firmware.js';
import { hasQemuTarget, type QemuTarget } from './qemus.js';

export interface BoardUnderTest {
  board: Board;
  arch: ArchitectureId;
  target: QemuTarget;
  /** launch() options besides the kernel. */
  launch: Omit<LaunchOptions, 'kernel'>;
  /** QOM type of CPU 0. */
  cpuType: string;
  /** A device register with a known reset value, read from the system address space. */
  mmio: { address: number; size: 1 | 4; value: number };
  /**
   * The safe-state GPIO input (exit 4), where the board has one: the device QEMU accepts it on,
   * its line count, and the device that lists the lines but handed them over (`qdev_pass_gpios`).
   */
  gpio?: { path: string; line: number; lines: number; handedOverBy?: string };
  /** The register of a function's first argument. */
  firstArgument: RegisterName;
  /** Has `check_pin_wide` (a 4-byte branch at `auth_check_branch_wide`). */
  wideBranch: boolean;
  /** Ticks every 2 ms on QEMU 7.2 (Cortex-M SysTick); every 1 ms elsewhere. */
  slowTickOn72: boolean;
  /** The firmware's handler of unexpected exceptions (a crash). */
  crashHandler: string;
}

const VIRT_PL061 = { path: '/machine/unattached/device[6]', line: 0, lines: 8 };

export const ARCH_BOARDS: readonly BoardUnderTest[] = [
  {
    board: 'mps2-an505',
    arch: 'arm-m',
    target: 'arm',
    launch: { machine: 'mps2-an505' },
    cpuType: 'cortex-m33-arm-cpu',
    mmio: { address: 0x5008_1fe0, size: 4, value: 0x24 }, // Secure watchdog PID0
    firstArgument: 'r0',
    wideBranch: true,
    slowTickOn72: true,
    crashHandler: 'HardFault_Handler',
  },
  {
    board: 'riscv32-virt',
    arch: 'riscv32',
    target: 'riscv32',
    launch: { machine: 'virt', args: ['-bios', 'none'] },
    cpuType: 'rv32-riscv-cpu',
    mmio: { address: 0x1000_0005, size: 1, value: 0x60 }, // NS16550 LSR: THRE | TEMT
    firstArgument: 'a0',
    wideBranch: true,
    slowTickOn72: false,
    crashHandler: 'fault_handler',
  },
  {
    board: 'sifive_e',
    arch: 'riscv32',
    target: 'riscv32',
    launch: { machine: 'sifive_e' },
    cpuType: 'sifive-e31-riscv-cpu',
    mmio: { address: 0x1000_8000, size: 4, value: 0xc000_0000 }, // PRCI hfrosccfg: RDY | EN
    gpio: { path: '/machine/soc', line: 0, lines: 32, handedOverBy: '/machine/soc/riscv.sifive.e.gpio0' },
    firstArgument: 'a0',
    wideBranch: true,
    slowTickOn72: false,
    crashHandler: 'fault_handler',
  },
  {
    board: 'riscv64-virt',
    arch: 'riscv64',
    target: 'riscv64',
    launch: { machine: 'virt', args: ['-bios', 'none'] },
    cpuType: 'rv64-riscv-cpu',
    mmio: { address: 0x1000_0005, size: 1, value: 0x60 },
    firstArgument: 'a0',
    wideBranch: true,
    slowTickOn72: false,
    crashHandler: 'fault_handler',
  },
  {
    board: 'aarch64-virt',
    arch: 'aarch64',
    target: 'aarch64',
    launch: { machine: 'virt', cpu: 'cortex-a53' },
    cpuType: 'cortex-a53-arm-cpu',
    mmio: { address: 0x0900_0fe0, size: 4, value: 0x11 }, // PL011 UARTPeriphID0
    gpio: VIRT_PL061,
    firstArgument: 'x0',
    wideBranch: false,
    slowTickOn72: false,
    crashHandler: 'fault_handler',
  },
  {
    board: 'arm-virt',
    arch: 'arm-ar',
    target: 'arm',
    launch: { machine: 'virt', cpu: 'cortex-a15' },
    cpuType: 'cortex-a15-arm-cpu',
    mmio: { address: 0x0900_0fe0, size: 4, value: 0x11 },
    gpio: VIRT_PL061,
    firstArgument: 'r0',
    wideBranch: false,
    slowTickOn72: false,
    crashHandler: 'fault_handler',
  },
];

/** The boards whose QEMU binary the project's QEMU has (a matrix install may lack one). */
export function boardsOnThisQemu(): BoardUnderTest[] {
  return ARCH_BOARDS.filter((b) => hasQemuTarget(b.target));
}

/** launch() options for `board` running `app`. */
export function boardLaunch(board: BoardUnderTest, app = 'faultdemo'): LaunchOptions {
  return { ...board.launch, kernel: firmware(board.board, app) };
}
