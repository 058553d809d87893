import { InvalidArgumentError, QmpError } from '../errors.js';
import type { QmpClient } from '../qmp/qmp-client.js';

interface QomEntry {
  name: string;
  type: string;
}

/** QEMU's name for a device's unnamed GPIO inputs. */
export const UNNAMED_GPIO_IN = 'unnamed-gpio-in';

/**
 * Checks that `path` is a device with GPIO input `name[num]` before anything drives it:
 * qtest's `set_irq_in` aborts QEMU on an assertion when the line does not exist.
 */
export async function checkGpioInput(qmp: QmpClient, path: string, name: string, num: number): Promise<void> {
  if (!Number.isSafeInteger(num) || num < 0) throw new InvalidArgumentError(`GPIO number must be a non-negative integer, got ${num}`);
  if (/\s/.test(path) || /\s/.test(name))
    throw new InvalidArgumentError(`QOM path and GPIO name must not contain white space: '${path}', '${name}'`);
  let children: QomEntry[];
  try {
    children = await qmp.execute<QomEntry[]>('qom-list', { path });
  } catch (err) {
    if (err instanceof QmpError) throw new InvalidArgumentError(`no QOM object at '${path}': ${err.desc}`);
    throw err;
  }
  const wanted = `${name}[${num}]`;
  if (children.some((c) => c.name === wanted)) return;
  const inputs = summarizeGpioInputs(children);
  throw new InvalidArgumentError(
    `'${path}' has no GPIO input ${wanted}; ${inputs.length ? `its inputs are ${inputs.join(', ')}` : 'it has no GPIO inputs'}`,
  );
}

/** Groups `name[i]` irq children into `name[0..n-1]` for error messages. */
function summarizeGpioInputs(children: QomEntry[]): string[] {
  const counts = new Map<string, number>();
  for (const child of children) {
    const m = /^(.+)\[(\d+)\]$/.exec(child.name);
    if (m && child.type === 'child<irq>' && !m[1]!.includes('gpio-out'))
      counts.set(m[1]!, Math.max(counts.get(m[1]!) ?? 0, Number(m[2]) + 1));
  }
  return [...counts].map(([name, n]) => `${name}[0..${n - 1}]`);
}
