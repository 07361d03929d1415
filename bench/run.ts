// Runs one benchmark: `npm run bench -- NAME [--quick]`. Each bench/NAME.ts is a script that
// prints its figures and ends with one line holding a JSON object of them.
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const [name, ...rest] = process.argv.slice(2);
const available = readdirSync('bench')
  .filter((file) => file.endsWith('.ts') && !['run.ts', 'support.ts'].includes(file))
  .map((file) => file.slice(0, -3));
if (name === undefined || name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- NAME [--quick]\nbenchmarks: ${available.join(', ')}`);
  process.exit(name === undefined ? 1 : 0);
}
if (!existsSync(`bench/${name}.ts`)) {
  console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', `bench/${name}.ts`, ...rest], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
