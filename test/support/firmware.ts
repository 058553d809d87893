import { fileURLToPath } from 'node:url';

/** Boards the example firmware is built for. */
export type Board = 'mps2-an385' | 'lm3s6965evb';

/** Path of the example firmware ELF for `board` (built by `make -C examples/firmware`, see global-setup). */
export function firmware(board: Board = 'mps2-an385'): string {
  return fileURLToPath(new URL(`../../examples/firmware/build/${board}/faultdemo.elf`, import.meta.url));
}

/** The golden `result` line of an undisturbed run. */
export const GOLDEN_RESULT = 'result: 0x8d6a7738';
