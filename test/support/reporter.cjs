// Mocha's spec output, ending with the line CI reads:
//   N passed, N failed, N skipped
// Pending tests (it.skip, this.skip()) count as skipped.
'use strict';
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;

class CountingReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    runner.on(EVENT_TEST_PASS, () => passed++);
    runner.on(EVENT_TEST_FAIL, () => failed++);
    runner.on(EVENT_TEST_PENDING, () => skipped++);
    let ended = false;
    runner.once(EVENT_RUN_END, () => {
      ended = true;
      // After Spec's epilogue, on its own line.
      process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    });
    // A process.exit() in code under test (or an event loop that empties while a
    // test awaits a promise nothing can settle) ends the process with mocha unfinished:
    // no summary, maybe exit code 0, and the run would look clean. Count it as a failure.
    process.once('exit', () => {
      if (ended) return;
      const current = runner.currentRunnable ? runner.currentRunnable.fullTitle() : 'before any test';
      process.stdout.write(`\nthe process exited before mocha finished (during: ${current})\n`);
      process.stdout.write(`${passed} passed, ${failed + 1} failed, ${skipped} skipped\n`);
      process.exitCode = 1;
    });
  }
}

module.exports = CountingReporter;
