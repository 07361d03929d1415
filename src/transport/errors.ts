// Stable error codes for everything that crosses the wire. A code never changes meaning once
// published; new failures get new codes. Ranges per subsystem (as exchange-core does):
//   1xxx transport and framing     2xxx identity, signatures, nonces
//   3xxx market (bids, matching)   4xxx transactions        5xxx accounts and ledger
//   6xxx CAFS and transfers        7xxx daemon              9xxx server internal
// docs/protocol.md lists them all; test/transport/errors.test.ts keeps the two in step.

export const ERRORS = {
  malformed_frame: { code: 1001, message: 'the frame is not valid MessagePack within the limits' },
  frame_too_large: { code: 1002, message: 'the frame exceeds the size limit' },
  unsupported_version: { code: 1003, message: 'the protocol version is not supported' },
  invalid_envelope: { code: 1004, message: 'the envelope does not match the schema' },
  unknown_type: { code: 1005, message: 'the message type is unknown' },
  invalid_body: { code: 1006, message: 'the message body does not match its schema' },
  rate_limited: { code: 1007, message: 'too many messages; slow down' },
  request_timeout: { code: 1008, message: 'no response arrived in time' },
  connection_closed: { code: 1009, message: 'the connection closed before a response arrived' },
  too_many_pending: { code: 1010, message: 'too many requests are awaiting a response' },
  too_many_subscriptions: { code: 1011, message: 'the connection holds too many subscriptions' },
  duplicate_request_id: { code: 1012, message: 'a request with this id is still pending' },
  invalid_response: { code: 1013, message: 'the response does not match its schema' },
  integer_out_of_range: { code: 1014, message: 'an integer exceeds 2^53 - 1 in magnitude' },
  actor_unknown: { code: 1101, message: 'no actor has this id' },
  event_not_accepted: { code: 1102, message: 'this actor does not take that event from the network' },
  actor_final: { code: 1103, message: 'the actor has finished and takes no more events' },
  actor_failed: { code: 1104, message: 'the actor failed on this event; its state is unchanged' },

  signature_invalid: { code: 2001, message: 'the signature does not verify for the address' },
  signature_malformed: { code: 2002, message: 'the signature is not 65 bytes of base64' },
  address_invalid: { code: 2003, message: 'the address is not a valid P2PKH address' },
  address_wrong_network: { code: 2004, message: 'the address belongs to another Bitcoin network' },
  nonce_invalid: { code: 2005, message: 'the nonce is malformed' },
  nonce_reused: { code: 2006, message: 'the nonce was already used' },
  nonce_expired: { code: 2007, message: 'the nonce is too old or from the future' },
  not_authorized: { code: 2008, message: 'this address may not send this command' },

  withdrawal_address_invalid: { code: 5030, message: 'the destination is not a Bitcoin address' },
  withdrawal_address_wrong_network: { code: 5031, message: "the destination is an address of another Bitcoin network than the exchange's" },
  withdrawal_address_unsupported: { code: 5032, message: 'the destination is a valid address of a kind the exchange does not pay to (witness version 2 or later)' },
  withdrawal_amount_dust: { code: 5033, message: "the amount is below the dust limit of the destination's script type" },
  withdrawal_address_own: { code: 5034, message: "the destination is one of the exchange's own deposit addresses" },
  payouts_disabled: { code: 5017, message: 'this exchange pays no withdrawals on chain: it runs without a payout processor' },
  payout_signed_invalid: { code: 5039, message: "the signed transaction is not the batch's PSBT with valid signatures" },
  deposits_disabled: { code: 5016, message: 'this exchange takes no chain deposits: it runs without a deposit key or chain backend' },

  transfer_unknown: { code: 6001, message: 'no transfer with this id is in progress' },
  transfer_limit: { code: 6002, message: 'the transfer exceeds a limit (chunks, size or transfers at once)' },
  chunk_invalid: { code: 6003, message: 'the chunk does not match its key or size' },
  chunk_index_invalid: { code: 6004, message: 'no chunk with this index was offered' },
  transfer_incomplete: { code: 6005, message: 'chunks are still missing' },
  file_mismatch: { code: 6006, message: 'the received file does not match its key' },
  store_full: { code: 6007, message: 'the receiving store has no room' },

  peer_not_authenticated: { code: 7001, message: 'say peer.hello first' },
  peer_trade_unknown: { code: 7002, message: 'this daemon sells in no transaction with this id' },
  peer_not_party: { code: 7003, message: 'the signer is not this transaction\'s buyer' },
  work_mismatch: { code: 7004, message: 'the work received does not match the published work hash' },
  buyer_secret_wrong: { code: 7005, message: 'the buyer secret does not match the published hash' },
  work_failed: { code: 7006, message: 'the worker failed on this work; the work is rejected' },
  receipt_invalid: { code: 7007, message: 'the receipt is not the buyer\'s signature over the encrypted result\'s hash' },
  peer_out_of_order: { code: 7008, message: 'the trade is not at the step this request belongs to' },

  internal: { code: 9001, message: 'internal error; the command had no effect' },
  server_busy: { code: 9002, message: 'the server is at capacity; retry after retryAfterMs' },
} as const satisfies Record<string, { code: number; message: string }>;

export type ErrorName = keyof typeof ERRORS;

/** The error a remote peer reported, or a local transport failure, with its stable code. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  readonly code: number;
  readonly errorName: string;
  /** How long the sender should wait before trying again (server_busy), when the server says. */
  readonly retryAfterMs: number | undefined;

  constructor(errorName: string, code: number, message: string, retryAfterMs?: number) {
    super(message);
    this.errorName = errorName;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  static of(name: ErrorName, detail?: string, retryAfterMs?: number): ProtocolError {
    const entry = ERRORS[name];
    return new ProtocolError(name, entry.code, detail === undefined ? entry.message : `${entry.message}: ${detail}`, retryAfterMs);
  }
}

export function isErrorName(name: string): name is ErrorName {
  return Object.hasOwn(ERRORS, name);
}
