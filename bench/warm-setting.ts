/**
 * The `qemuFault({ warm })` a bench run asks for, from QF_BENCH_WARM (set by bench/vitest.bench.ts,
 * read by the bench's Vitest configs): `0` off, `always` on, anything else the plugin's default.
 */
export type WarmSetting = boolean | 'auto';

export function warmFromEnv(): WarmSetting {
  const asked = process.env.QF_BENCH_WARM;
  return asked === '0' ? false : asked === 'always' ? true : 'auto';
}

/** The QF_BENCH_WARM value that asks for `warm`. */
export function warmToEnv(warm: WarmSetting): string {
  return warm === false ? '0' : warm === true ? 'always' : 'auto';
}
