import { fileURLToPath } from 'node:url';

/** Boards the example firmware is built for (examples/firmware/build/<board>/). */
export type Board =
  | 'mps2-an385'
  | 'lm3s6965evb'
  | 'mps2-an505'
  | 'riscv32-virt'
  | 'sifive_e'
  | 'riscv64-virt'
  | 'aarch64-virt'
  | 'arm-virt'
  | 'xlnx-zcu102-r5';

/** Path of an example firmware ELF (`app`, default faultdemo) for `board` (built by `make -C examples/firmware`, see global-setup). */
export function firmware(board: Board = 'mps2-an385', app = 'faultdemo'): string {
  return fileURLToPath(new URL(`../../examples/firmware/build/${board}/${app}.elf`, import.meta.url));
}

/** The golden `result` line of an undisturbed run. */
export const GOLDEN_RESULT = 'result: 0x8d6a7738';
