// Goal: keep the core deterministic and the tree tidy (STYLE.md example 8, after TigerBeetle's
// tidy.zig). Method: grep every source file under src/ and sim/ for calls that read the wall
// clock, use unseeded randomness or set bare timers, and for leftover FIXMEs. The one allowed
// reader of real time is src/clock.ts; a line may opt out with a `tidy-allow: <reason>` comment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const BANNED: Array<[RegExp, string]> = [
  [/\bDate\.now\(/, 'use clock.now() from an injected Clock'],
  [/\bnew Date\(\)/, 'use clock.now() from an injected Clock'],
  [/\bMath\.random\(/, 'use a seeded Prng (src/random.ts)'],
  [/(^|[^.\w])setTimeout\(/, 'use clock.setTimer() from an injected Clock'],
  [/(^|[^.\w])setInterval\(/, 'use clock.setTimer() from an injected Clock'],
  [/\bFIXME\b/, 'fix it now or record it in the issue note'],
];
const ALLOWED_FILES = new Set(['src/clock.ts']);

function sourceFiles(directory: string): string[] {
  if (!existsSync(directory)) return [];
  const files: string[] = [];
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (/\.(ts|js)$/.test(name)) files.push(path);
  }
  return files;
}

test('core code reads no wall clock, no unseeded randomness and sets no bare timers', () => {
  const problems: string[] = [];
  for (const file of [...sourceFiles('src'), ...sourceFiles('sim')]) {
    if (ALLOWED_FILES.has(file)) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, index) => {
      if (line.includes('tidy-allow:')) return;
      const trimmed = line.trim();
      const isComment = trimmed.startsWith('//') || trimmed.startsWith('*') || trimmed.startsWith('/*');
      for (const [pattern, advice] of BANNED) {
        if (isComment && !pattern.source.includes('FIXME')) continue; // comments may name the calls
        if (pattern.test(line)) problems.push(`${file}:${index + 1}: ${line.trim()}  -> ${advice}`);
      }
    });
  }
  assert.deepEqual(problems, []);
});
