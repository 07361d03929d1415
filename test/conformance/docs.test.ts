// Goal: docs/protocol.md and the behaviour agree both ways: every error code in its "Codes on the
// wire" table and every close code in its §6 table is produced over a real socket by one of the
// conformance test files (their lists, which each file checks, are in covers.ts), and nothing is
// produced that the tables do not list. Method: read the tables, compare with the lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { COVERS } from './covers.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

function codesBetween(startHeading: string, endHeading: string): number[] {
  const start = doc.indexOf(startHeading);
  const end = doc.indexOf(endHeading, start + 1);
  assert.ok(start >= 0 && end > start, `the sections "${startHeading}" and "${endHeading}" exist`);
  return [...doc.slice(start, end).matchAll(/^\| (\d{4}) \|/gm)].map((match) => Number(match[1])).sort((a, b) => a - b);
}

const sorted = (codes: Iterable<number>): number[] => [...new Set(codes)].sort((a, b) => a - b);

test('every error code documented as on the wire is produced over a real socket, and no other', () => {
  const produced = sorted(Object.values(COVERS).flatMap((cover) => cover.errors));
  assert.deepEqual(produced, codesBetween('### Codes on the wire', '### Reserved codes'));
});

test('every documented close code is produced over a real socket, and no other', () => {
  const produced = sorted(Object.values(COVERS).flatMap((cover) => cover.closes));
  assert.deepEqual(produced, codesBetween('## 6. Close codes', '## 7.'));
});
