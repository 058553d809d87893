import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExitInfo, LaunchedQemu } from '@qemu-fault/core';
import { type RunnerTestCase, recordArtifact, type TestArtifactBase, type TestAttachment } from 'vitest';
import { DIAGNOSTICS_ARTIFACT } from './options.js';

/** What QEMU and the guest looked like when a test failed. */
export interface QemuDiagnostics {
  /** Guest time in nanoseconds when the fixture tore down, if the framework has a time source. */
  guestTimeNs: number | undefined;
  /** Wall-clock milliseconds from the end of the launch to the teardown. */
  wallTimeMs: number;
  /** QEMU's run state (`query-status`), or why it could not be asked. */
  runState: string;
  /** Set if QEMU had already exited before teardown (e.g. the guest exited via semihosting). */
  exitedBefore: ExitInfo | undefined;
  pid: number | undefined;
  commandLine: readonly string[];
  /** The guest's serial output kept by the capture, or `undefined` without a serial channel. */
  serial: string | undefined;
  /** Characters of serial output dropped from the front of the capture. */
  serialDropped: number;
  /** The tail of QEMU's stderr. */
  stderr: string;
  /** The injection trace, one line per entry. */
  trace: string;
  traceEntries: number;
}

/** A text file attached to the diagnostics artifact; `name` says which one it is. */
export interface QemuDiagnosticsAttachment extends TestAttachment {
  name: 'serial' | 'stderr' | 'trace';
}

/**
 * The artifact recorded on a failed test that used `qemu`. Reporters see it in
 * `onTestCaseArtifactRecord` and `testCase.artifacts()`; its attachments are copied by Vitest into
 * `attachmentsDir` (default `.vitest-attachments/`), ready to be kept as CI artifacts.
 */
export interface QemuDiagnosticsArtifact
  extends TestArtifactBase,
    Pick<QemuDiagnostics, 'guestTimeNs' | 'wallTimeMs' | 'runState' | 'exitedBefore' | 'pid' | 'commandLine'> {
  type: typeof DIAGNOSTICS_ARTIFACT;
  /** The same text as the report error's message. */
  summary: string;
  attachments: QemuDiagnosticsAttachment[];
}

const diagnosticsKey = Symbol('qemu-fault:diagnostics');

declare module 'vitest' {
  interface TestArtifactRegistry {
    [diagnosticsKey]: QemuDiagnosticsArtifact;
  }
}

/**
 * The extra error a failed test gets: it carries the report into the failure output of every
 * reporter (default, JUnit, JSON, GitHub Actions) without changing the test's own error.
 */
export class QemuFailureReport extends Error {
  /**
   * @param where A stack line in the test file (see {@link failureFrame}); reporters that place
   * errors by their stack (GitHub Actions annotations, code frames) then point at the failure.
   */
  constructor(message: string, where?: string) {
    super(message);
    this.name = 'QemuFailureReport';
    // Otherwise no stack frames: they would point into the fixture.
    this.stack = `${this.name}: ${message}${where ? `\n${where}` : ''}`;
  }
}

/** The stack line of the test's first error that lies in the test file, if any. */
export function failureFrame(task: RunnerTestCase): string | undefined {
  const stack = task.result?.errors?.[0]?.stack ?? '';
  return stack.split('\n').find((line) => /^\s+at /.test(line) && line.includes(task.file.filepath));
}

const SHORT_TIMEOUT_MS = 1000;

/** Reads everything worth reporting. Call before `close()`: guest time and run state need a live QEMU. */
export async function collectDiagnostics(qemu: LaunchedQemu, launchedAt: number): Promise<QemuDiagnostics> {
  // `now()` may become async (a protocol round trip) once the core has a time source; a QEMU that
  // hangs must not hold up the report.
  const guestTimeNs = qemu.process.exitInfo ? undefined : await bounded(async () => qemu.now(), undefined);
  let runState = qemu.process.exitInfo
    ? undefined
    : await bounded(async () => {
        const s = await qemu.status();
        return s.running ? 'running' : `paused (${s.status})`;
      }, undefined);
  if (runState === undefined) {
    // No answer: usually QEMU is on its way out (the guest exited); give the exit a moment to land.
    await bounded(() => qemu.process.exited, undefined);
    runState = qemu.process.exitInfo ? qemu.process.describeExit() : 'unknown (query-status did not answer)';
  }
  const exitedBefore = qemu.process.exitInfo;
  let serial: string | undefined;
  let serialDropped = 0;
  try {
    serial = qemu.serial.text;
    serialDropped = qemu.serial.droppedChars;
  } catch {
    serial = undefined; // launched without a serial channel
  }
  return {
    guestTimeNs,
    wallTimeMs: Date.now() - launchedAt,
    runState,
    exitedBefore,
    pid: qemu.process.pid,
    commandLine: qemu.commandLine,
    serial,
    serialDropped,
    stderr: qemu.process.stderr.text(),
    trace: qemu.trace.toString(),
    traceEntries: qemu.trace.entries.length,
  };
}

/** Limits for the text in the error message; the attachments always have everything. */
export interface ReportLimits {
  serialLines: number;
  stderrLines: number;
  traceLines: number;
}

const DEFAULT_LIMITS: ReportLimits = { serialLines: 40, stderrLines: 20, traceLines: 30 };

/** The report as text, sections bounded so a chatty guest does not drown the test's own error. */
export function formatDiagnostics(d: QemuDiagnostics, limits: ReportLimits = DEFAULT_LIMITS): string {
  const time =
    d.guestTimeNs === undefined ? 'unknown (no guest time source)' : `${d.guestTimeNs} ns (${(d.guestTimeNs / 1e6).toFixed(3)} ms)`;
  const lines = [
    'QEMU state at the failure above:',
    `  guest time: ${time}`,
    `  wall time since launch: ${d.wallTimeMs} ms`,
    `  QEMU (pid ${d.pid ?? '?'}): ${d.exitedBefore ? `had exited before the test ended: ${d.runState}` : d.runState}`,
    section(
      'guest serial output',
      d.serial === undefined ? '(no serial channel)' : d.serial,
      limits.serialLines,
      d.serialDropped ? `${d.serialDropped} earlier characters dropped by the capture` : '',
    ),
    section('QEMU stderr', d.stderr, limits.stderrLines),
    section(`injection trace (${d.traceEntries} entries)`, d.trace, limits.traceLines),
  ];
  return lines.join('\n');
}

function section(title: string, text: string, maxLines: number, note = ''): string {
  const all = text.replace(/\r\n/g, '\n').trimEnd();
  if (!all) return `--- ${title}: (empty) ---`;
  const lines = all.split('\n');
  const shown = lines.slice(-maxLines);
  const cut = lines.length - shown.length;
  const head = [note, cut ? `${cut} earlier lines in the attachment` : ''].filter(Boolean).join('; ');
  return [`--- ${title}${head ? ` (${head})` : ''} ---`, ...shown].join('\n');
}

/**
 * Records the {@link QemuDiagnosticsArtifact} on `task`, with the full serial output, stderr and
 * trace as text files. `recordArtifact` works in fixture teardown (unlike `annotate`, which throws
 * once the test function has finished): the test is reported only after its fixtures are torn down.
 */
export async function recordDiagnostics(task: RunnerTestCase, d: QemuDiagnostics, summary: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'qemu-fault-report-'));
  try {
    const header = `# ${fullName(task)} (${task.file.name})\n`;
    const files: Array<[QemuDiagnosticsAttachment['name'], string]> = [
      ['serial', d.serial ?? '(no serial channel)'],
      ['stderr', d.stderr],
      ['trace', d.trace],
    ];
    const attachments: QemuDiagnosticsAttachment[] = [];
    for (const [name, text] of files) {
      const path = join(dir, `${name}.log`);
      await writeFile(path, `${header}${text}\n`);
      attachments.push({ name, path, contentType: 'text/plain' });
    }
    // Vitest copies path attachments into attachmentsDir before recordArtifact resolves,
    // so the temp files can go right after.
    await recordArtifact(task, {
      type: DIAGNOSTICS_ARTIFACT,
      guestTimeNs: d.guestTimeNs,
      wallTimeMs: d.wallTimeMs,
      runState: d.runState,
      exitedBefore: d.exitedBefore,
      pid: d.pid,
      commandLine: d.commandLine,
      summary,
      attachments,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function fullName(task: RunnerTestCase): string {
  const names: string[] = [task.name];
  for (let s = task.suite; s && s !== task.file; s = s.suite) names.unshift(s.name);
  return names.join(' > ');
}

async function bounded<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), SHORT_TIMEOUT_MS)));
  try {
    return await Promise.race([fn().catch(() => fallback), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
