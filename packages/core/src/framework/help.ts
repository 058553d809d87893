import { ARCHITECTURES } from '../arch/index.js';

/** The commands `help()` lists, as the original framework's help did: signature and what it does. */
export const COMMANDS: ReadonlyArray<readonly [signature: string, description: string]> = [
  ['read(address, size, cpu?)', "read 1/2/4/8 bytes from a CPU's view (8 bytes give a bigint)"],
  ['write(address, value, size, cpu?)', "write 1/2/4/8 bytes from a CPU's view"],
  ['readPhysical(address, size) / writePhysical(address, value, size)', 'the system address space, MMIO included'],
  ['readBytes(address, length, opts?) / writeBytes(address, buffer, opts?)', 'bulk access ({ cpu } or { physical: true })'],
  ['getQomProperty(path, property)', 'read a QOM property'],
  ['setQomProperty(path, property, value)', 'write a QOM property'],
  ['setGpio(path, gpio, num, value)', "drive a device's GPIO input (gpio null for the unnamed inputs)"],
  ['cont() / stop() / status()', 'resume, pause, and query the run state'],
  ['notify(timeNs, cb, { relative? })', 'run cb with the guest frozen at a guest time'],
  ['at(symbolOrAddress, cb, { hit?, cpu? })', 'run cb just before that instruction executes (the hit-th time, on any CPU or one)'],
  ['onWrite / onRead / onAccess(address, size, cb, { cpu? })', 'run cb right after each matching guest access'],
  [
    'registers.get(name, { cpu? }) / registers.set(name, value, { cpu? })',
    'core registers by the architecture names (below), in a callback or while paused',
  ],
  ['skip(count?, { cpu? })', 'move the pc past the next instructions by their real sizes'],
  ['architecture(cpu?)', "a CPU's architecture: register names and widths, instruction sizes, semihosting"],
  ['run({ forNs?, until?, timeoutMs? })', 'run the guest, serving triggers, until it ends or an option says stop'],
  ['ctx.hold() / stopHeld()', 'end a run at a freeze, the guest kept frozen; then make it a stopped VM'],
  ['now() / instructions({ cpu? })', 'guest time in ns, instructions executed (by all CPUs or one)'],
  ['symbol(name)', 'address of a symbol in the kernel ELF'],
  ['serial.text / serial.waitFor(pattern, { timeoutMs })', "the guest UART's output"],
  ['qmp.execute(command, args?)', 'any QMP command'],
  ['hmp(commandLine)', 'any HMP (human monitor) command line'],
  ['verbose = 0 | 1 | 2', 'print injections (1) and every protocol message (2)'],
  ['help()', 'this list'],
  ['close()', 'quit QEMU (if launched by us) and disconnect'],
];

/** The architectures and their register names, for help's last part. */
function architectureLines(): string[] {
  return ARCHITECTURES.map((arch) => {
    const names = arch.registers.map((r) => r.name);
    const wide = arch.wordBits === 64 ? ', 64-bit values as bigint' : '';
    return `  ${arch.title}: ${names.slice(0, 3).join(', ')} … ${names.slice(-3).join(', ')}${wide}; exit by ${arch.semihostingTraps.map((t) => t.text).join(' or ')}`;
  });
}

/** Formats {@link COMMANDS} plus what this connection offers. */
function formatHelp(version: string, channels: Record<string, boolean>): string {
  const width = Math.max(...COMMANDS.map(([s]) => s.length));
  const lines = [...COMMANDS.map(([s, d]) => `  ${s.padEnd(width)}  ${d}`), 'Architectures:', ...architectureLines()];
  const offered = Object.entries(channels)
    .map(([name, on]) => `${name}: ${on ? 'yes' : 'no'}`)
    .join(', ');
  return [`qemu-fault on QEMU ${version} (${offered})`, 'Commands:', ...lines].join('\n');
}

/** Prints the help text (as the original framework's `help()` did) and returns it. */
export function printHelp(version: string, channels: Record<string, boolean>): string {
  const text = formatHelp(version, channels);
  console.log(text);
  return text;
}
