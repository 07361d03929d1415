// The deposit watcher's view of the exchange: the addresses the core reserved, its live
// deposits, and a way to journal what the watcher decided (trusted commands: no signature).
import type { DepositLedgerPort } from '../chain/deposit-watcher.js';
import type { MarketCommand } from '../market/commands.js';
import type { Exchange } from './exchange.js';

export function exchangeDepositPort(exchange: Exchange): DepositLedgerPort {
  return {
    watchedAddresses: () => exchange.core.funds.depositAddressList(),
    ownerOf: (address) => exchange.core.funds.depositAddressOwner(address),
    ledger: () => ({
      deposits: new Map(exchange.core.funds.liveDeposits().map((deposit) => [deposit.id, deposit])),
      isClosed: (id) => exchange.core.funds.depositClosed(id),
    }),
    deposit: (id) => exchange.core.funds.liveDeposit(id),
    isClosed: (id) => exchange.core.funds.depositClosed(id),
    record: (command) => exchange.execute(undefined, (nowMs) => ({ ...command, nowMs }) as MarketCommand),
  };
}
