// Every way the market core can refuse a command, with a stable code (3xxx bids and matching,
// 4xxx transactions, 5xxx accounts and ledger). A code never changes meaning once published.
// Each command checks its rejections in a fixed order, listed in its handler and tested by a
// table in test/market/rejections.test.ts; the lead merges this table into the wire errors.

export const REJECTIONS = {
  article_unknown: { code: 3001, message: 'the article is not in the catalogue' },
  article_invalid: { code: 3002, message: 'the article definition is malformed or out of bounds' },
  article_exists: { code: 3003, message: 'an article with this id is already defined' },
  articles_full: { code: 3004, message: 'the catalogue holds the most articles it may' },
  bid_side_invalid: { code: 3010, message: 'the bid side is neither BUY nor SELL' },
  bid_price_invalid: { code: 3011, message: 'the price is not a whole, non-negative number of satoshis' },
  bid_price_out_of_range: { code: 3012, message: "the price is outside the article's bounds" },
  bid_limit_reached: { code: 3013, message: 'the participant has the most open bids allowed for this article' },
  bid_book_full: { code: 3014, message: 'the order books hold the most bids they may; try again later' },
  bid_avoid_invalid: { code: 3015, message: 'an avoid list is for BUY bids only: at most 8 distinct participant addresses' },
  bid_not_found: { code: 3020, message: 'no bid has this id' },
  bid_closed: { code: 3021, message: 'the bid is no longer open (matched, expired or withdrawn)' },
  bid_not_owner: { code: 3022, message: 'the bid belongs to another participant' },

  tx_message_unknown: { code: 4001, message: 'the transaction message type is unknown' },
  tx_fields_invalid: { code: 4002, message: 'the message fields are missing, extra or malformed' },
  tx_not_found: { code: 4003, message: 'no transaction has this id' },
  tx_retired: { code: 4004, message: 'the transaction is no longer active' },
  tx_not_party: { code: 4005, message: 'the sender is neither the buyer nor the seller' },
  tx_wrong_sender: { code: 4006, message: 'this message must come from the other party' },
  tx_wrong_phase: { code: 4007, message: 'the message is not allowed in the current phase' },
  tx_secret_mismatch: { code: 4008, message: 'SHA-256(workhash ‖ buyersecret) differs from worksecrethash' },
  tx_receipt_invalid: { code: 4009, message: "the receipt signature does not verify for the buyer's address" },
  tx_not_disputed: { code: 4010, message: 'the transaction is not in RESULT_DISPUTED' },
  tx_share_invalid: { code: 4011, message: "the seller's share is not whole satoshis between 0 and the price" },
  tx_evidence_not_replicable: { code: 4012, message: "the article's results are not replicable: its disputes go to the arbiter" },
  tx_evidence_invalid: { code: 4013, message: "the witnesses are not 2 to 4 distinct live transactions of the buyer's, for the same article and work, with results, from distinct other sellers" },
  tx_evidence_inconclusive: { code: 4014, message: 'no strict majority of the results agrees: the dispute goes to the arbiter' },

  amount_invalid: { code: 5001, message: 'the amount is not a positive whole number of satoshis' },
  supply_exceeded: { code: 5002, message: 'the amount would put more than 21 million BTC in the system' },
  accounts_full: { code: 5003, message: 'the exchange holds the most accounts it may' },
  account_not_found: { code: 5004, message: 'the participant has no account' },
  account_frozen: { code: 5005, message: 'the account is frozen' },
  account_not_frozen: { code: 5006, message: 'the account is not frozen' },
  insufficient_funds: { code: 5007, message: 'the available balance does not cover the amount' },
  reference_invalid: { code: 5008, message: 'the deposit or payout id is malformed' },
  deposit_duplicate: { code: 5010, message: 'a deposit with this id was already recorded' },
  deposit_not_found: { code: 5011, message: 'no pending deposit has this id' },
  deposits_full: { code: 5012, message: 'too many deposits are pending' },
  payout_duplicate: { code: 5020, message: 'a payout with this id was already requested' },
  payout_not_found: { code: 5021, message: 'no pending payout has this id' },
  payouts_full: { code: 5022, message: 'too many payouts are pending' },
} as const satisfies Record<string, { readonly code: number; readonly message: string }>;

export type RejectionName = keyof typeof REJECTIONS;
