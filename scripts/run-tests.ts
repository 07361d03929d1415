// Runs every test file under test/ with node's test runner (through tsx).
// Node 20's `--test` takes no glob patterns, so the files are listed here.
// Usage: npm test [-- PATTERN...]   (a pattern keeps the files whose path contains it)
// Property tests share one fixed seed unless FC_SEED says otherwise (test/support/fast-check-seed.mjs, plain JavaScript: worker threads load it too).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

function listTestFiles(directory: string): string[] {
  const found: string[] = [];
  const pending = [directory];
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) pending.push(path);
      else if (name.endsWith('.test.ts')) found.push(relative(process.cwd(), path));
    }
  }
  return found.sort();
}

const patterns = process.argv.slice(2);
const files = listTestFiles('test').filter(
  (file) => patterns.length === 0 || patterns.some((pattern) => file.includes(pattern)),
);
if (files.length === 0) {
  console.error(`no test files match ${patterns.join(' ') || 'test/**/*.test.ts'}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--import', './test/support/fast-check-seed.mjs', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
