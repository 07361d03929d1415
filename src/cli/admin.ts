// `bitwrk admin`: the operator's withdrawal commands, each signed with the admin's key
// (docs/payments.md, the runbook): approve a withdrawal waiting for review, fail one (or a batch
// nobody signed, or a conflicted one), refund a failed one, set the withdrawal rules, and show
// the payout batches with the last reconciliation of the wallet with the ledger.
import { realClock } from '../clock.js';
import { loadKeyFile } from '../crypto/keyfile.js';
import { isNetworkName } from '../crypto/networks.js';
import { ExchangeClient } from '../daemon/exchange-client.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { defaultKeyFile } from './paths.js';
import { DEFAULT_EXCHANGE_URL, withExchangePeer } from './exchange-peer.js';

const ACTIONS = ['approve', 'fail', 'refund', 'fail-batch', 'policy', 'payouts'] as const;

export const adminCommand: Command = {
  name: 'admin',
  summary: "the operator's withdrawal commands: approve, fail, refund, policy, payouts",
  usage: `usage: bitwrk admin approve WITHDRAWAL [options]
       bitwrk admin fail WITHDRAWAL --reason TEXT [options]
       bitwrk admin refund WITHDRAWAL [options]
       bitwrk admin fail-batch BATCH --reason TEXT [options]
       bitwrk admin policy --daily-limit SATS --manual-above SATS --new-destination-delay SECONDS [options]
       bitwrk admin payouts [options]

approve     a withdrawal waiting for review (above the manual threshold, or in its delay to a
            destination never paid before); the payout processor batches it next
fail        a withdrawal in no batch; its money stays held until refund
refund      gives a failed withdrawal's money back to the participant's balance
fail-batch  a batch nobody signed yet, or one whose coins were double-spent (conflicted; look at
            the chain first: a failed batch's withdrawals can be refunded, and paid again)
policy      the withdrawal rules
payouts     the batches waiting for the payer, and the last reconciliation

options:
  --exchange URL    the exchange's WebSocket (default ${DEFAULT_EXCHANGE_URL})
  --key-file PATH   the admin's key (default ${defaultKeyFile()})
  --network NAME    the key's network (default testnet)
  --json            print the answer as JSON`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      exchange: { type: 'string' }, 'key-file': { type: 'string' }, network: { type: 'string' }, json: { type: 'boolean' }, reason: { type: 'string' },
      'daily-limit': { type: 'string' }, 'manual-above': { type: 'string' }, 'new-destination-delay': { type: 'string' },
    }, 2);
    const [action, target] = positionals;
    if (action === undefined || !(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`name an action: ${ACTIONS.join(', ')}`);
    if (['approve', 'fail', 'refund', 'fail-batch'].includes(action) && target === undefined) throw new UsageError(`${action} needs ${action === 'fail-batch' ? 'a batch id' : 'a withdrawal id'}`);
    if ((action === 'fail' || action === 'fail-batch') && (values.reason === undefined || values.reason.length === 0 || values.reason.length > 500)) throw new UsageError(`${action} needs --reason TEXT (1-500 characters)`);
    const policy = action !== 'policy' ? undefined : {
      dailyLimitSats: integerFlag(values['daily-limit'] ?? missing('--daily-limit'), 'daily-limit', 0, { min: 0, max: 21e14 }),
      manualAboveSats: integerFlag(values['manual-above'] ?? missing('--manual-above'), 'manual-above', 0, { min: 0, max: 21e14 }),
      newDestinationDelayMs: integerFlag(values['new-destination-delay'] ?? missing('--new-destination-delay'), 'new-destination-delay', 0, { min: 0, max: 30 * 86_400 }) * 1000,
    };
    const network = values.network ?? 'testnet';
    if (!isNetworkName(network)) throw new UsageError(`--network must be mainnet, testnet or regtest, got "${network}"`);
    const print = (text: string, data: unknown): void => console.log(values.json === true ? JSON.stringify(data) : text);
    return withExchangePeer(values.exchange ?? DEFAULT_EXCHANGE_URL, 'admin', async (peer, info) => {
      if (action === 'payouts') {
        const answer = await peer.request('payouts', {});
        const r = answer.reconciliation;
        const lines = [
          r === null ? 'not reconciled yet' : `height ${r.height}: wallet ${r.walletSats} sat, owed ${r.owedSats} sat, surplus ${r.surplusSats} sat${r.halted ? ' — PAYOUTS HALTED' : ''}`,
          ...answer.batches.map((batch) => `${batch.batchId}: waits for the payer; ${batch.manifest.outputs.length} withdrawal(s), fee ${batch.manifest.feeSats} sat at ${batch.feeRateSatVb} sat/vB`),
        ];
        print(lines.join('\n'), answer);
        return 0;
      }
      const client = new ExchangeClient(peer, loadKeyFile(values['key-file'] ?? defaultKeyFile(), network), info.exchangeId, realClock);
      if (action === 'policy') {
        const set = await client.setWithdrawalPolicy(policy!);
        print(`daily limit ${set.dailyLimitSats} sat, review above ${set.manualAboveSats} sat, new destinations wait ${set.newDestinationDelayMs / 1000} s`, set);
        return 0;
      }
      if (action === 'fail-batch') {
        const failed = await client.failPayoutBatch(target!, values.reason!);
        print(`${failed.batchId}: failed; withdrawals ${failed.withdrawalIds.join(', ')} wait for refund`, failed);
        return 0;
      }
      const answer = action === 'approve' ? await client.approveWithdrawal(target!) : action === 'fail' ? await client.failWithdrawal(target!, values.reason!) : await client.refundWithdrawal(target!);
      print(`${answer.withdrawalId}: ${answer.state}`, answer);
      return 0;
    });
  },
};

function missing(flag: string): never {
  throw new UsageError(`policy needs ${flag}`);
}
