// Goal: `bitwrk sim` and `bitwrk sim sweep` work from the command line as docs/simulator.md says:
// a run writes its three files and prints its summary, a sweep marks its recommendation, and a bad
// flag is refused with exit code 2 naming it. Method: the real command as a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const bitwrk = (...args: string[]) => spawnSync(process.execPath, ['bin/bitwrk.js', ...args], { encoding: 'utf8' });

test('bitwrk sim writes its report; bitwrk sim sweep recommends a setting; bad flags are refused', () => {
  const out = mkdtempSync(join(tmpdir(), 'bitwrk-sim-cli-'));
  const run = bitwrk('sim', '--buyers', '20', '--sellers', '10', '--hours', '0.1', '--out', out);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^SEED=1 /);
  assert.match(run.stdout, /trades {2,}\d+/);
  for (const file of ['summary.txt', 'timeseries.csv', 'report.html']) assert.ok(existsSync(join(out, file)), file);
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<svg/);

  const sweep = bitwrk('sim', 'sweep', '--fees', '1,5', '--lifetimes', '120', '--adaptive', '0', '--buyers', '20', '--sellers', '10', '--hours', '0.1', '--out', out);
  assert.equal(sweep.status, 0, sweep.stderr);
  assert.match(sweep.stdout, /recommended \(\*\): fee [15]%/);
  assert.match(readFileSync(join(out, 'sweep.csv'), 'utf8'), /^feeNumerator,/);

  const bad = bitwrk('sim', '--buyers', 'many');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--buyers expects a whole number/);
  const badList = bitwrk('sim', 'sweep', '--fees', '1,x');
  assert.equal(badList.status, 2);
  assert.match(badList.stderr, /--fees/);
});
