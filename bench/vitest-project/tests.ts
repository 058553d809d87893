/** How many tests each measured file has. */
export const COUNT = 30;
export const KERNEL = new URL('../../examples/firmware/build/mps2-an385/faultdemo.elf', import.meta.url).pathname;
