import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Builds the example firmware once per test run (a no-op when it is up to date). */
export default function setup(): void {
  execFileSync('make', ['-s', '-C', fileURLToPath(new URL('../../examples/firmware', import.meta.url))], { stdio: 'inherit' });
}
