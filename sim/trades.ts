// Where the simulated daemons' trades run: the daemon's own trade kinds (src/actors/trade-kinds.ts,
// the pure trade logic of src/machines/trade-logic.ts) on one actor host on the simulation's
// virtual clock. Each committed step's effects go to the agent that owns the trade, which carries
// them out with simulated I/O (sim/agents.ts). The trade auditor watches every step and checks
// the daemon's promises about trades:
//   - a fact about another bid or transaction than the trade's current one changes nothing;
//   - a mandate's trade is spent only by a buy that placed a bid, and once;
//   - a purchase that ends "no seller took bid" after a matched attempt says what that attempt ended with.
import { ActorHost } from '../src/actors/host.js';
import { buyTradeKind, sellTradeKind } from '../src/actors/trade-kinds.js';
import type { PersistedState } from '../src/actors/kind.js';
import type { Clock } from '../src/clock.js';
import type { BuyEffect, BuyFact, SellEffect, SellFact } from '../src/machines/trade-logic.js';
import type { BuyInput, BuyState, SellInput, SellState } from '../src/machines/trade.js';
import { InvariantViolation } from './auditor.js';

export interface TradeOwner {
  effects(tradeId: string, state: PersistedState, effects: readonly (BuyEffect | SellEffect)[]): void;
}

export class SimTrades {
  readonly host: ActorHost;
  private readonly owners = new Map<string, TradeOwner>();
  private readonly buyAudit = new Map<string, { matched: boolean; mandateUses: number }>();
  /**
   * The first broken promise, kept for the simulator to raise: a check runs inside an agent's
   * callbacks (promise handlers among them), where a throw would be caught or lost.
   */
  violation: InvariantViolation | undefined;
  /** Facts the logic dropped as stale (about an earlier bid or transaction). */
  staleFacts = 0;
  mandateUses = 0;
  checks = 0;

  constructor(clock: Clock) {
    this.host = new ActorHost({
      clock,
      committed: (id, kind, state, emitted) => {
        const effects = emitted as readonly (BuyEffect | SellEffect)[];
        if (kind === 'buy') this.auditBuy(id, state as BuyState, effects as readonly BuyEffect[]);
        this.owners.get(id)?.effects(id, state, effects);
      },
      inspect: (record) => {
        if (record.type === 'failure') this.broken(`trade ${record.id}: the ${record.phase} of ${record.event.type} failed: ${String(record.error)}`);
      },
    });
    this.host.register(buyTradeKind);
    this.host.register(sellTradeKind);
  }

  private broken(message: string): void {
    this.violation ??= new InvariantViolation(message);
  }

  spawnBuy(owner: TradeOwner, input: BuyInput): void {
    this.owners.set(input.tradeId, owner);
    this.buyAudit.set(input.tradeId, { matched: false, mandateUses: 0 });
    this.host.spawn('buy', input.tradeId, input);
  }

  spawnSell(owner: TradeOwner, input: SellInput): void {
    this.owners.set(input.tradeId, owner);
    this.host.spawn('sell', input.tradeId, input);
  }

  /** A trade taken up again from its saved state (its daemon restarted). */
  revive(owner: TradeOwner, kind: 'buy' | 'sell', state: BuyState | SellState): void {
    this.owners.set(state.context.tradeId, owner);
    this.host.revive(kind, state.context.tradeId, state);
  }

  /** Delivers a fact; checks that a fact about another bid or transaction changed nothing. */
  send(tradeId: string, fact: BuyFact | SellFact): void {
    const before = this.host.get(tradeId);
    if (before === undefined) return; // ended and forgotten, or its daemon is down
    this.host.send(tradeId, fact);
    const context = before.context as { readonly bidId: string | null; readonly txId: string | null };
    const about = 'txId' in fact && fact.type !== 'MATCHED' ? fact.txId : undefined;
    if (about !== undefined && about !== context.txId) {
      this.checks++;
      if (this.host.get(tradeId) !== before) this.broken(`${tradeId}: a fact about transaction ${String(about)} changed a trade of transaction ${String(context.txId)}`);
    }
  }

  state(tradeId: string): PersistedState | undefined {
    return this.host.get(tradeId);
  }

  /** Forgets an ended trade, or one whose daemon went down (it is revived from its saved state). */
  forget(tradeId: string): void {
    this.host.stop(tradeId);
    this.owners.delete(tradeId);
    this.buyAudit.delete(tradeId);
  }

  private auditBuy(tradeId: string, state: BuyState, effects: readonly BuyEffect[]): void {
    const audit = this.buyAudit.get(tradeId);
    if (audit === undefined) return;
    if (state.context.txId !== null) audit.matched = true;
    for (const effect of effects) {
      if (effect.type === 'ignored' && effect.why.startsWith('it is about')) this.staleFacts++;
      if (effect.type === 'useMandate') {
        this.checks++;
        this.mandateUses++;
        if (state.context.attempts === 0) this.broken(`${tradeId}: a mandate's trade was spent before any bid`);
        if (++audit.mandateUses > 1) this.broken(`${tradeId}: a mandate's trade was spent twice`);
      }
      if (effect.type === 'ended' && effect.reason?.startsWith('no seller took bid') === true && audit.matched) {
        this.checks++;
        if (!effect.reason.includes('the attempt before ended')) this.broken(`${tradeId}: ended "${effect.reason}", hiding that an earlier attempt was matched`);
      }
    }
  }
}
