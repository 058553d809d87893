/**
 * Runs the fixture project (test/vitest-plugin/fixtures/project) with Vitest's Node API, the way a
 * user's `vitest run` would, and captures what reporters saw: results, errors, artifacts, the
 * default reporter's output and a JUnit file.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import type { TestArtifact } from 'vitest';
import { type CliOptions, type Reporter, type SerializedError, startVitest } from 'vitest/node';

export const projectDir = fileURLToPath(new URL('./fixtures/project/', import.meta.url));
export const projectConfig = join(projectDir, 'vitest.config.ts');

export interface CapturedTest {
  /** `file > describe > test` */
  name: string;
  state: string;
  errors: readonly SerializedError[];
  artifacts: readonly TestArtifact[];
}

/** A line of the fixture tests' QEMU log (see fixtures/project/qemu-log.ts). */
export interface QemuLogLine {
  test: string;
  pid: number;
  dir: string;
  commandLine: string[];
  at: number;
  /** The run's QEMUs alive when the line was written, where the test logged them. */
  running?: number[];
}

export interface FixtureRun {
  tests: CapturedTest[];
  /** The default and GitHub Actions reporters' output (stdout and stderr), without colours. */
  output: string;
  junit: string;
  attachmentsDir: string;
  qemus: QemuLogLine[];
  /** The `-name` every QEMU of this run had: `pgrep -f marker` finds its leftovers. */
  marker: string;
  find(name: string): CapturedTest;
}

const workDirs: string[] = [];

/** A scratch dir for one run, removed by {@link removeWorkDirs}. */
export async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qemu-fault-meta-'));
  workDirs.push(dir);
  return dir;
}

/** Removes the runs' scratch dirs (logs, JUnit, attachments); for `afterAll`. */
export async function removeWorkDirs(): Promise<void> {
  await Promise.all(workDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Runs the fixture project's test files matching `filters` (Vitest CLI filters). */
export async function runFixture(filters: string[], options: CliOptions = {}): Promise<FixtureRun> {
  const work = await workDir();
  const marker = `qf-meta-${randomUUID().slice(0, 12)}`;
  const junitFile = join(work, 'junit.xml');
  const attachmentsDir = join(work, 'attachments');
  const logFile = join(work, 'qemu.jsonl');
  // Read by the fixture project's config (in this process) and by its workers (inherited env).
  process.env.QF_MARKER = marker;
  process.env.QF_PID_LOG = logFile;

  const tests: CapturedTest[] = [];
  const capture: Reporter = {
    onTestCaseResult(testCase) {
      const result = testCase.result();
      tests.push({
        name: testCase.fullName,
        state: result.state,
        errors: result.errors ?? [],
        artifacts: testCase.artifacts(),
      });
    },
  };
  let output = '';
  // Appends on write, not on a later 'data' event, so nothing is missing once the run has closed.
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      output += chunk.toString();
      done();
    },
  });
  // Vitest pipes the workers' output into this stream, and `pipe` ends its destination when a
  // worker exits; process.stdout ignores that, so must a stand-in for it.
  sink.end = () => sink;

  const exitCode = process.exitCode;
  const vitest = await startVitest(
    'test',
    filters,
    {
      config: projectConfig,
      root: projectDir,
      watch: false,
      color: false,
      reporters: ['default', 'github-actions', capture, ['junit', { outputFile: junitFile }]],
      attachmentsDir,
      ...options,
    },
    undefined,
    { stdout: sink, stderr: sink },
  );
  await vitest.close();
  // startVitest marks failed runs in process.exitCode; the fixture's failures are expected here.
  process.exitCode = exitCode;

  return {
    tests,
    // Vitest colours error names even with `color: false`.
    output: stripVTControlCharacters(output),
    junit: existsSync(junitFile) ? readFileSync(junitFile, 'utf8') : '',
    attachmentsDir,
    qemus: existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as QemuLogLine)
      : [],
    marker,
    find(name) {
      const found = tests.find((t) => t.name.endsWith(name));
      if (!found) throw new Error(`no test named ${name}; got: ${tests.map((t) => t.name).join(', ')}`);
      return found;
    },
  };
}

/** The QEMU processes whose command line contains `marker` (pgrep; none is an empty list). */
export function qemusWith(marker: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits up to `ms` for `check` to hold: process exits after SIGKILL are not instantaneous. */
export async function eventually(check: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

export async function listFiles(dir: string): Promise<string[]> {
  return existsSync(dir) ? readdir(dir) : [];
}
