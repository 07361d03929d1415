// `bitwrk arbiter`: the exchange's arbiter lists disputed transactions with their evidence and
// decides them (a split of the price between seller and buyer), and freezes or unfreezes
// accounts. Every decision is a command signed with the arbiter's key (docs/protocol.md).
import { realClock } from '../clock.js';
import { loadKeyFile } from '../crypto/keyfile.js';
import { isNetworkName } from '../crypto/networks.js';
import { ExchangeClient } from '../daemon/exchange-client.js';
import { parseFlags, UsageError, type Command } from './command.js';
import { defaultKeyFile } from './paths.js';
import { DEFAULT_EXCHANGE_URL, withExchangePeer } from './exchange-peer.js';

/** "seller", "buyer" or a number of sat: what the seller gets of `priceSats`. */
export function sellerShare(text: string, priceSats: number): number {
  if (text === 'seller') return priceSats;
  if (text === 'buyer') return 0;
  if (!/^\d{1,16}$/.test(text)) throw new UsageError(`--seller-gets expects seller, buyer or a number of sat, got "${text}"`);
  const sats = Number(text);
  if (sats > priceSats) throw new UsageError(`--seller-gets ${sats} is more than the price, ${priceSats} sat`);
  return sats;
}

function describe(dispute: Record<string, unknown>, nowMs: number): string {
  const left = Math.max(0, Number(dispute['deadlineMs']) - nowMs);
  return [
    `${String(dispute['txId'])}  ${String(dispute['article'])}  price ${String(dispute['priceSats'])} sat (fee ${String(dispute['feeSats'])})`,
    `  buyer  ${String(dispute['buyer'])}`,
    `  seller ${String(dispute['seller'])}`,
    `  reason: ${String(dispute['rejectReason'] ?? '')}`,
    `  work ${String(dispute['workHash'] ?? '-')}; result (encrypted) ${String(dispute['encResultHash'] ?? '-')}; key ${String(dispute['encResultKey'] ?? '-')}`,
    `  undecided for ${Math.round(left / 60_000)} more minutes (then the market rules decide)`,
  ].join('\n');
}

export const arbiterCommand: Command = {
  name: 'arbiter',
  summary: 'list disputed transactions and decide them; freeze or unfreeze accounts',
  usage: `usage: bitwrk arbiter list [options]
       bitwrk arbiter resolve TXID --seller-gets seller|buyer|SATS [options]
       bitwrk arbiter freeze ADDRESS [options]
       bitwrk arbiter unfreeze ADDRESS [options]

list       the transactions in RESULT_DISPUTED, oldest first, with their evidence: the buyer's
           reason, the work's hash, the encrypted result's hash and its key
resolve    ends one: the seller gets SATS of the price ("seller": all of it, "buyer": none) and
           the buyer the rest back; the fee goes to the exchange either way
freeze     an account takes no new bids and sends no payouts until unfrozen

options:
  --exchange URL    the exchange's WebSocket (default ${DEFAULT_EXCHANGE_URL})
  --key-file PATH   the arbiter's key (default ${defaultKeyFile()}); the exchange accepts only the
                    address it was started with (bitwrk exchange --arbiter)
  --network NAME    the key's network (default testnet)
  --json            print the answer as JSON`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { exchange: { type: 'string' }, 'key-file': { type: 'string' }, network: { type: 'string' }, 'seller-gets': { type: 'string' }, json: { type: 'boolean' } }, 2);
    const [action, target] = positionals;
    if (action === undefined || !['list', 'resolve', 'freeze', 'unfreeze'].includes(action)) throw new UsageError('name an action: list, resolve, freeze or unfreeze');
    if (action !== 'list' && target === undefined) throw new UsageError(`${action} needs ${action === 'resolve' ? 'a transaction id' : 'an address'}`);
    if (action === 'resolve' && values['seller-gets'] === undefined) throw new UsageError('resolve needs --seller-gets seller|buyer|SATS');
    const network = values.network ?? 'testnet';
    if (!isNetworkName(network)) throw new UsageError(`--network must be mainnet, testnet or regtest, got "${network}"`);
    const print = (text: string, data: unknown): void => console.log(values.json === true ? JSON.stringify(data) : text);
    return withExchangePeer(values.exchange ?? DEFAULT_EXCHANGE_URL, 'arbiter', async (peer, info) => {
      if (action === 'list') {
        const { disputes } = await peer.request('disputes', { limit: 1000 });
        print(disputes.length === 0 ? 'no disputed transactions' : disputes.map((dispute) => describe(dispute, info.nowMs)).join('\n\n'), disputes);
        return 0;
      }
      const identity = loadKeyFile(values['key-file'] ?? defaultKeyFile(), network);
      const client = new ExchangeClient(peer, identity, info.exchangeId, realClock);
      if (action === 'resolve') {
        const tx = await peer.request('transaction', { txId: target! });
        const decided = await client.resolveDispute(target!, sellerShare(values['seller-gets']!, Number(tx['priceSats'])));
        print(`${decided.txId}: ${decided.sellerSats} sat to the seller, ${decided.refundSats} sat back to the buyer`, decided);
        return 0;
      }
      const changed = await client.setFrozen(target!, action === 'freeze');
      print(`${changed.participant}: ${changed.frozen ? 'frozen' : 'unfrozen'}`, changed);
      return 0;
    });
  },
};
