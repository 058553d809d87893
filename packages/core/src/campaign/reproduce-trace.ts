/** A reproduced fault's trace as text, for the terminal. */
import { formatNs } from './enumerate.js';
import { formatMemory } from './outcome.js';
import type { FaultTrace, GdbHandover } from './reproduce.js';

/** Serial text, one quoted line each, indented. */
function quoted(text: string): string {
  if (!text) return '    (none)';
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => `    | ${line}`)
    .join('\n');
}

/** The trace: fault, moment, what was injected, serial before and after, the end, the verdict. */
export function formatFaultTrace(trace: FaultTrace, gdb?: GdbHandover): string {
  const { fault, moment, injected, evidence } = trace;
  const time = moment.exactTime
    ? `${moment.timeNs} ns (${formatNs(moment.timeNs)})`
    : `about ${moment.timeNs} ns (a block may be counted ahead)`;
  const end = [
    evidence.end,
    evidence.exitCode !== undefined ? `exit code ${evidence.exitCode}` : '',
    evidence.trap ? `at ${evidence.trap}` : '',
    evidence.timeNs !== undefined ? `at ${evidence.timeNs} ns` : '',
    evidence.error ?? '',
  ]
    .filter(Boolean)
    .join(', ');
  const lines = [
    `fault #${fault.index} of campaign '${trace.campaign}': ${fault.id}`,
    `moment:   ${fault.moment.key}, pc 0x${moment.pc.toString(16)}, guest time ${time}`,
    `injected: ${fault.actionLabel} on ${injected.what}: ${injected.before} -> ${injected.after}`,
    ...(fault.second
      ? [`second:   ${fault.second.id}: ${trace.secondInjected ? 'injected' : 'its moment did not come (within the window): not injected'}`]
      : []),
    'serial before the moment:',
    quoted(trace.serialBefore),
  ];
  if (gdb) {
    lines.push(
      `stopped right after the injection, at pc 0x${gdb.pc.toString(16)}; the gdbstub listens on ${gdb.socket}:`,
      `  ${gdb.command}`,
      'QEMU stays until gdb kills it or the firmware exits (Ctrl-C quits it).',
    );
    return lines.join('\n');
  }
  // The evidence has the whole output, from boot: what came before the moment is shown above.
  const serial = evidence.serial ?? '';
  const after = serial.startsWith(trace.serialBefore) ? serial.slice(trace.serialBefore.length) : serial;
  lines.push('serial after the moment:', quoted(after), `end:      ${end}`);
  if (evidence.memory) {
    for (const [name, bytes] of Object.entries(evidence.memory)) lines.push(`memory:   ${name} = ${formatMemory(bytes)}`);
  }
  if (trace.verdict) lines.push(`outcome:  ${trace.verdict.outcome.toUpperCase()} (${trace.verdict.reason})`);
  return lines.join('\n');
}
