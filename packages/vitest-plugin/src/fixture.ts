import { InvalidArgumentError, type LaunchedQemu, type LaunchOptions } from '@qemu-fault/core';
import { test as base, inject, type RunnerTestCase, type RunnerTestSuite } from 'vitest';
import { IdleCores } from './idle-cores.js';
import { mergeOptions, PROVIDE_KEY, type ProvidedQemuConfig, type QemuFaultConfig, type QemuOptions, resolvePaths } from './options.js';
import { collectDiagnostics, failureFrame, formatDiagnostics, QemuFailureReport, recordDiagnostics } from './report.js';
import { WarmSpare } from './warm-spare.js';

/** The fixtures {@link test} adds to Vitest's test context. */
export interface QemuFixtures {
  /**
   * Changes to the config's launch options for this file or `describe` block (an option fixture:
   * its value is data, the `qemu` fixture reads it). Override it like any Vitest fixture:
   *
   * ```ts
   * describe('on the Stellaris board', () => {
   *   test.override({ qemuOptions: { machine: 'lm3s6965evb', kernel: 'build/lm3s6965evb/app.elf' } });
   *   test('boots', async ({ qemu }) => { ... });
   * });
   * ```
   *
   * The closest override wins. To build on the enclosing one, use the function form:
   * `test.override('qemuOptions', ({ qemuOptions }) => ({ ...qemuOptions, args: ['-d', 'int'] }))`.
   */
  qemuOptions: QemuOptions;
  /**
   * A QEMU launched paused (`-S`) before the test body, with the config's options merged with
   * `qemuOptions`, and closed after the test on pass, failure, timeout or cancel. On failure, the
   * test's report gets the guest's serial output, QEMU's stderr tail, the injection trace and the
   * guest time (see the README, "Failure reports").
   */
  qemu: LaunchedQemu;
}

/**
 * The worker's warm spare (a worker-scoped fixture the `qemu` fixture uses; tests need not touch
 * it): closed when the worker ends.
 */
// biome-ignore lint/correctness/noEmptyPattern: Vitest reads a fixture's dependencies from this pattern (none here).
const withSpare = base.extend('qemuSpare', { scope: 'worker' }, ({}, { onCleanup }) => {
  const spare = new WarmSpare(running());
  onCleanup(() => spare.close());
  return spare;
});

/**
 * Vitest's `test` with the `qemu` and `qemuOptions` fixtures:
 *
 * ```ts
 * import { test, expect } from '@qemu-fault/vitest';
 *
 * test('reaches the safe state when the guard is corrupted', async ({ qemu }) => {
 *   await qemu.write(qemu.symbol('guard'), 0, 4);
 *   await qemu.cont();
 *   await expect(qemu).toPrintOnSerial(/SAFE STATE: guard/);
 * });
 * ```
 *
 * Extend it further with `test.extend`, and override options per file or `describe` with
 * `test.override`.
 */
export const test = withSpare.extend<QemuFixtures>({
  qemuOptions: {},
  qemu: async ({ qemuOptions, qemuSpare, task, signal, onTestFailed }, use) => {
    const provided = inject(PROVIDE_KEY);
    const options = launchOptions(provided, qemuOptions);
    const qemu = await qemuSpare.take(options);
    const launchedAt = Date.now();
    // If the test timed out or the run was cancelled while QEMU was starting, Vitest has already
    // run (or is running) the fixture cleanups, so a teardown registered by `use` now would never
    // run: close here instead of leaving QEMU to the end of the worker.
    if (signal.aborted || task.result?.state !== 'run') {
      await qemu.close();
      throw signal.reason ?? new Error('The test ended while QEMU was starting');
    }
    running().add(qemu);
    // The next test most likely uses the same options: its QEMU starts now, while this one runs.
    // (Whether a core is idle is asked last: only when a spare could serve, so its window spans the tests between.)
    if ((provided?.isolate === false || testsLeftAfter(task as RunnerTestCase)) && wantsSpare(provided?.warm ?? 'auto')) {
      qemuSpare.prepare(options);
    }
    const report = new ReportDelivery();
    onTestFailed(() => report.fromFailedHook());
    try {
      await use(qemu);
    } finally {
      try {
        await teardown(qemu, task as RunnerTestCase, launchedAt, report);
      } finally {
        running().delete(qemu);
      }
    }
  },
});

const RUNNING = Symbol.for('@qemu-fault/vitest:running');

/**
 * The QEMUs this worker process has running. On SIGINT/SIGTERM, Vitest's main process exits at once
 * without stopping its `forks` workers; an orphaned worker lives on until it next talks to the main
 * process (a hanging test: until its timeout), and its QEMUs with it. The IPC channel's
 * `disconnect` is the signal to close them. Kept on `globalThis` because test isolation loads this
 * module afresh for each file in the same process, and one listener is enough.
 */
function running(): Set<LaunchedQemu> {
  const g = globalThis as { [RUNNING]?: Set<LaunchedQemu> };
  if (!g[RUNNING]) {
    const set = new Set<LaunchedQemu>();
    g[RUNNING] = set;
    // Only child processes (the `forks` pools) have the channel; worker threads die with the main
    // process, and QEMU with them (the core ties QEMU to the process that started it).
    if (process.send) {
      process.once('disconnect', () => {
        for (const qemu of set) void qemu.close().catch(() => undefined);
      });
    }
  }
  return g[RUNNING];
}

/**
 * Hands the failure report to Vitest exactly once. The report is built in fixture teardown (the
 * only place that sees the final state while QEMU is still alive) but thrown from an
 * `onTestFailed` handler, which Vitest runs right after the fixture cleanups: Vitest 4.1 runs a
 * fixture teardown a second time when one throws, which would list the report twice. A fixture that
 * an `aroundEach` hook uses is torn down only after the `onTestFailed` handlers, so then the
 * teardown throws the report itself.
 */
class ReportDelivery {
  private error: Error | undefined;
  private hookRan = false;

  fromFailedHook(): void {
    this.hookRan = true;
    const error = this.error;
    this.error = undefined;
    if (error) throw error;
  }

  fromTeardown(error: Error): void {
    if (this.hookRan) throw error;
    this.error = error;
  }
}

/**
 * Whether a test after `current` in its file is still to run. With isolation (Vitest's default) a
 * worker runs one file, so a spare launched after its last test would only be closed unused.
 */
function testsLeftAfter(current: RunnerTestCase): boolean {
  let seen = false;
  const visit = (suite: RunnerTestSuite): boolean =>
    suite.tasks.some((t) => {
      if (t.type === 'suite') return visit(t);
      if (t === current) seen = true;
      else if (seen && t.mode === 'run' && !t.result) return true;
      return false;
    });
  return visit(current.file);
}

const idleCores = new IdleCores();

/** Whether to launch a spare now, by the config's `warm` (see {@link QemuFaultConfig.warm}). */
function wantsSpare(warm: boolean | 'auto'): boolean {
  return warm === 'auto' ? idleCores.spare() : warm;
}

/** The config's options (provided by the plugin) with this file's/describe's overrides applied. */
function launchOptions(provided: ProvidedQemuConfig | undefined, overrides: QemuOptions): LaunchOptions {
  // Without the plugin there is no project root to hand; the worker's cwd is the next best base.
  const root = provided?.root ?? process.cwd();
  const options = mergeOptions(provided?.options ?? {}, resolvePaths(overrides, root));
  if (!options.machine) {
    throw new InvalidArgumentError(
      'No QEMU machine for the `qemu` fixture: pass `machine` to qemuFault() in vitest.config.ts, ' +
        "or override it with test.override({ qemuOptions: { machine: '...' } }).",
    );
  }
  return { ...options, machine: options.machine };
}

/**
 * Runs after the test body and `afterEach` hooks, when `task.result.state` is final. On failure it
 * reads the diagnostics first (guest time and run state need a live QEMU), then always closes QEMU,
 * then reports.
 */
async function teardown(qemu: LaunchedQemu, task: RunnerTestCase, launchedAt: number, report: ReportDelivery): Promise<void> {
  const failed = task.result?.state === 'fail';
  const diagnostics = failed ? await collectDiagnostics(qemu, launchedAt).catch(() => undefined) : undefined;
  let closeError: unknown;
  try {
    await qemu.close();
  } catch (err) {
    closeError = err;
  }
  if (diagnostics) {
    let summary = formatDiagnostics(diagnostics);
    try {
      await recordDiagnostics(task, diagnostics, summary);
    } catch (err) {
      // The report error still carries everything; only the attachment files are missing.
      summary += `\n(could not record the diagnostics artifact: ${(err as Error).message})`;
    }
    // An extra error on the already failed test is how the report reaches every reporter's failure
    // output (default, JUnit, JSON, GitHub Actions): `annotate` refuses to run once the test
    // function has finished, and the default reporter does not print artifacts.
    report.fromTeardown(new QemuFailureReport(summary, failureFrame(task)));
  }
  if (closeError) throw closeError;
}
