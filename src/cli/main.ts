// `bitwrk`: one command with a subcommand per part of the system.
import { readFileSync } from 'node:fs';
import { UsageError, type Command } from './command.js';
import { daemonCommand } from './daemon.js';
import { devnetCommand } from './devnet.js';
import { exchangeCommand } from './exchange.js';
import { identityCommands } from './identity.js';
import { playgroundCommand } from './playground.js';
import { renderCommand } from './render.js';
import { arbiterCommand } from './arbiter.js';
import { payerCommand } from './payer.js';
import { adminCommand } from './admin.js';
import { workerCommand } from './worker.js';
import { depositCommand, withdrawCommand } from './funds.js';

const builtIn: readonly Command[] = [exchangeCommand, daemonCommand, workerCommand, renderCommand, arbiterCommand, adminCommand, payerCommand, playgroundCommand, devnetCommand, depositCommand, withdrawCommand, ...identityCommands];
let commands: readonly Command[] = builtIn;

function version(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

function overview(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'bitwrk: a peer-to-peer marketplace for computing power, paid in Bitcoin',
    '',
    'usage: bitwrk COMMAND [options]      (bitwrk COMMAND --help for details)',
    '',
    'commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'options:',
    '  -h, --help     show this help',
    '  --version      print the version',
  ].join('\n');
}

/** Runs the command line; `extra` adds commands that live outside src/ (the simulator). */
export async function main(argv: readonly string[], extra: readonly Command[] = []): Promise<number> {
  keepRunningWithoutOutput();
  commands = [...builtIn, ...extra].sort((a, b) => (a.name < b.name ? -1 : 1));
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    console.log(version());
    return 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    console.error(`bitwrk: unknown command "${name}"\n\n${overview()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`bitwrk ${name}: ${error.message}\n\n${command.usage}`);
      return 2;
    }
    console.error(`bitwrk ${name}: ${(error as Error).message}`);
    return 1;
  }
}

/**
 * A closed stdout or stderr (the terminal gone, `bitwrk daemon | head`) must not kill a daemon or
 * an exchange mid-trade: the lines are lost, the work goes on. Other stream errors still throw.
 */
let outputGuarded = false;
function keepRunningWithoutOutput(): void {
  if (outputGuarded) return; // main() runs many times in one test process
  outputGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
}
