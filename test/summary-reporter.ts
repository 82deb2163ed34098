/**
 * Prints one closing line, `N passed, N failed, N skipped`, after vitest's own
 * summary: the plain form CI reads to count tests (it does not parse vitest's).
 * It must agree with vitest's exit code: a failed hook fails its module.
 */
import type { Reporter, TestCase, TestModule } from 'vitest/node';

/** A test that was meant to run but did not, because a suite around it failed (its beforeAll threw). */
function skippedByFailedSuite(test: TestCase): boolean {
  if (test.options.mode === 'skip' || test.options.mode === 'todo') return false;
  for (let parent = test.parent; ; parent = parent.parent) {
    if (parent.state() === 'failed') return true;
    if (parent.type === 'module') return false;
  }
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed' || (state === 'skipped' && skippedByFailedSuite(test))) failedHere += 1;
        else if (state === 'skipped') counts.skipped += 1;
      }
      // A module that failed with no failed test of its own (it did not load, or an afterAll threw) still fails the run.
      if (module.state() === 'failed' && failedHere === 0) failedHere = 1;
      counts.failed += failedHere;
    }
    counts.failed += unhandledErrors.length;
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
