// `bitwrk deposit` and `bitwrk withdraw`: move bitcoin into and out of your account through your
// daemon's local API (its API token), as its page does. docs/payments.md explains confirmations,
// reorgs and the withdrawal rules.
import { join } from 'node:path';
import { renderUnicodeCompact } from 'uqr';
import { MONEY_SATS_MAX } from '../market/limits.js';
import { LocalApiClient, LocalApiError } from '../daemon/local-client.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { bitwrkHome } from './paths.js';
import { DEFAULT_DAEMON_URL, readToken } from './worker.js';

const DAEMON_OPTIONS = `  --daemon URL     your daemon's local API (default ${DEFAULT_DAEMON_URL})
  --token TOKEN    its API token (default $BITWRK_API_TOKEN, else DAEMON-DIR/api-token)
  --daemon-dir DIR the daemon's data directory (default ${join(bitwrkHome(), 'daemon')})`;

const DAEMON_FLAGS = { daemon: { type: 'string' }, token: { type: 'string' }, 'daemon-dir': { type: 'string' } } as const;

function clientFrom(values: { daemon?: string | undefined; token?: string | undefined; 'daemon-dir'?: string | undefined }): LocalApiClient {
  const daemonUrl = (values.daemon ?? DEFAULT_DAEMON_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(daemonUrl)) throw new UsageError(`--daemon expects an http:// URL, got "${daemonUrl}"`);
  const token = values.token ?? process.env['BITWRK_API_TOKEN'] ?? readToken(values['daemon-dir'] ?? join(bitwrkHome(), 'daemon'));
  return new LocalApiClient(daemonUrl, token);
}

/** The daemon's refusal as one line on stderr, exit status 1. */
async function reporting(run: () => Promise<void>, what: string): Promise<number> {
  try {
    await run();
    return 0;
  } catch (error) {
    if (!(error instanceof LocalApiError)) throw error;
    console.error(`bitwrk ${what}: ${error.errorName === null ? '' : `${error.errorName}: `}${error.message}`);
    return 1;
  }
}

export const depositCommand: Command = {
  name: 'deposit',
  summary: 'get a Bitcoin address to fund your account (with a QR code)',
  usage: `usage: bitwrk deposit [--amount SATS] [options]

Asks your daemon for a deposit address of the exchange's wallet and prints it with its BIP21 URI
and a QR code. The payment is credited after its confirmations (3 by default; see
docs/payments.md); \`GET /account\` on the daemon, or its page, follows it.

options:
  --amount SATS    put the amount into the URI (and QR code)
${DAEMON_OPTIONS}`,
  async run(argv) {
    const { values } = parseFlags(argv, { amount: { type: 'string' }, ...DAEMON_FLAGS });
    const amount = values.amount === undefined ? undefined : integerFlag(values.amount, 'amount', 1, { min: 1, max: MONEY_SATS_MAX });
    const api = clientFrom(values);
    return reporting(async () => {
      const answer = await api.depositAddress(amount);
      console.log(renderUnicodeCompact(answer.uri));
      console.log(`address: ${answer.address}${answer.fresh ? '' : ' (your newest unpaid one again)'}`);
      console.log(`uri:     ${answer.uri}`);
    }, 'deposit');
  },
};

export const withdrawCommand: Command = {
  name: 'withdraw',
  summary: 'withdraw bitcoin from your account to an address of yours',
  usage: `usage: bitwrk withdraw ADDRESS SATS --key KEY [options]

Asks the exchange, through your daemon, to pay SATS to ADDRESS. KEY is yours: running the same
command again (after a timeout, say) is the same withdrawal, never a second one; a new withdrawal
needs a new key. The money is held at once; the exchange's rules (a daily limit, review of large
amounts, a delay for an address never paid before) decide when it is sent (docs/payments.md).

options:
  --key KEY        your idempotency key: 1-100 letters, digits or :_.-
${DAEMON_OPTIONS}`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { key: { type: 'string' }, ...DAEMON_FLAGS }, 2);
    const [destination, amountText] = positionals;
    if (destination === undefined || amountText === undefined) throw new UsageError('give the ADDRESS and the amount in SATS');
    const amount = integerFlag(amountText, 'amount', 1, { min: 1, max: MONEY_SATS_MAX });
    if (values.key === undefined || !/^[A-Za-z0-9:_.-]{1,100}$/.test(values.key)) throw new UsageError('--key KEY is needed: 1-100 letters, digits or :_.- (the same key again is the same withdrawal)');
    const api = clientFrom(values);
    return reporting(async () => {
      const answer = await api.withdraw(values.key!, destination, amount);
      console.log(`${answer.withdrawalId}: ${answer.amountSats} sat to ${answer.destination}, ${answer.state}${answer.repeated ? ' (requested before with this key: the same withdrawal)' : ''}`);
    }, 'withdraw');
  },
};
