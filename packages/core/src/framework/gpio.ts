import { ChannelUnavailableError, InvalidArgumentError, QmpError } from '../errors.js';
import { checkCount, describeValue } from '../integers.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import type { QtestClient } from '../qtest/qtest-client.js';
import { checkName } from './checks.js';
import type { InjectionTrace } from './injection-trace.js';

interface QomEntry {
  name: string;
  type: string;
}

/** QEMU's name for a device's unnamed GPIO inputs. */
const UNNAMED_GPIO_IN = 'unnamed-gpio-in';

/**
 * Drives GPIO input `num` of the device at QOM `path` to `value` (`gpio`: the input group, null or
 * undefined for the unnamed inputs): the patched `gpio-set` command where QEMU has it, else
 * qtest's `set_irq_in` after checking that the line exists.
 */
export async function driveGpio(
  ch: { qmp: QmpClient; qtest: QtestClient | undefined; trace: InjectionTrace },
  path: string,
  gpio: string | null | undefined,
  num: number,
  value: boolean | 0 | 1,
): Promise<void> {
  // Every argument is checked before anything is sent: QEMU would take (or die of) what we do not refuse.
  checkName(path, 'QOM path');
  if (gpio !== null && gpio !== undefined && typeof gpio !== 'string')
    throw new InvalidArgumentError(`GPIO name must be a string, null or undefined, got ${describeValue(gpio)}`);
  checkCount(num, 'GPIO number');
  if (value !== 0 && value !== 1 && typeof value !== 'boolean')
    throw new InvalidArgumentError(`GPIO value must be 0, 1 or a boolean, got ${describeValue(value)}`);
  const level = value === true || value === 1;
  if (await ch.qmp.hasCommand('gpio-set')) {
    await ch.qmp.execute('gpio-set', { path, ...(gpio ? { gpio } : {}), number: num, value: level });
  } else {
    await checkGpioInput(ch.qmp, path, gpio ?? UNNAMED_GPIO_IN, num);
    if (!ch.qtest) {
      throw new ChannelUnavailableError(
        'qtest',
        'setGpio()',
        'Start QEMU with -accel tcg -qtest unix:PATH,server=on,wait=off -qtest-log /dev/null, or use launch().',
      );
    }
    await ch.qtest.setIrqIn(path, gpio ?? undefined, num, level ? 1 : 0);
  }
  ch.trace.record('gpio', `gpio ${path} ${gpio ?? UNNAMED_GPIO_IN}[${num}] = ${level ? 1 : 0}`);
}

/**
 * Checks that QEMU will accept GPIO input `name[num]` of `path` before anything drives it: qtest's
 * `set_irq_in` aborts QEMU on an assertion when the device has no such line. Listing the property
 * is not enough: a container that took a child's lines with `qdev_pass_gpios()` (sifive_e's SoC
 * takes its GPIO block's) owns them from then on, and the child, which still lists them, has none.
 */
async function checkGpioInput(qmp: QmpClient, path: string, name: string, num: number): Promise<void> {
  if (!Number.isSafeInteger(num) || num < 0) throw new InvalidArgumentError(`GPIO number must be a non-negative integer, got ${num}`);
  if (/\s/.test(path) || /\s/.test(name))
    throw new InvalidArgumentError(`QOM path and GPIO name must not contain white space: '${path}', '${name}'`);
  const children = await qomList(qmp, path);
  if (!children) throw new InvalidArgumentError(`no QOM object at '${path}'`);
  const wanted = `${name}[${num}]`;
  const line = children.find((c) => c.name === wanted);
  if (!line || !IRQ_TYPES.has(line.type)) {
    const inputs = summarizeGpioInputs(children);
    throw new InvalidArgumentError(
      `'${path}' has no GPIO input ${wanted}; ${inputs.length ? `its inputs are ${inputs.join(', ')}` : 'it has no GPIO inputs'}`,
    );
  }
  const owner = await passedTo(qmp, path, wanted);
  if (owner) {
    throw new InvalidArgumentError(
      `'${path}' handed its GPIO inputs to '${owner}' (qdev_pass_gpios): QEMU takes ${wanted} only there; use setGpio('${owner}', ...)`,
    );
  }
}

/** An input line is a `child<irq>` of its device, or a `link<irq>` alias where a container took it over. */
const IRQ_TYPES = new Set(['child<irq>', 'link<irq>']);

async function qomList(qmp: QmpClient, path: string): Promise<QomEntry[] | undefined> {
  try {
    return await qmp.execute<QomEntry[]>('qom-list', { path });
  } catch (err) {
    if (err instanceof QmpError) return undefined;
    throw err;
  }
}

/** The topmost ancestor of `path` holding `line` as an alias (a `link<irq>`), if any. */
async function passedTo(qmp: QmpClient, path: string, line: string): Promise<string | undefined> {
  let owner: string | undefined;
  // Only absolute paths have ancestors to walk; a partial path is QEMU's to resolve.
  for (let at = path.slice(0, path.lastIndexOf('/')); path.startsWith('/') && at.length > 0; at = at.slice(0, at.lastIndexOf('/'))) {
    const entry = (await qomList(qmp, at))?.find((c) => c.name === line);
    if (entry?.type === 'link<irq>') owner = at;
  }
  return owner;
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
