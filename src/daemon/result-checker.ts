// The buyer's check of a result before it pays (docs/market-rules.md §6, "Evidence"): its own check
// (recompute, or the result's form), and for replicable articles the same work bought again from
// other sellers ("witnesses") when the own check fails, to give the exchange evidence, or at the
// spot-check rate, to catch wrong results that pass the own check. Its evidence names only
// witnesses that agree, so that the exchange's majority rule (src/market/evidence.ts) decides for
// them. One implementation for the daemon (src/daemon/buyer.ts, real I/O) and the simulator
// (sim/agents.ts, simulated I/O): they differ only in the port.
import { EVIDENCE_WITNESSES_MAX, sellerVotes, spotCheckRate, type VerificationPolicy } from '../market/evidence.js';

/** One purchase's result for the work: its seller's signed commitment, and whether it passed the buyer's own check. */
export interface ResultClaim {
  readonly tradeId: string;
  readonly txId: string;
  readonly seller: string;
  /** The seller's signed `resulthash`. */
  readonly resultHash: string;
  /** The own check passed and the decrypted result hashes to the seller's commitment. */
  readonly checkedOk: boolean;
  /** Why the own check failed (null when it passed). */
  readonly problem: string | null;
}

export interface CheckPort {
  /** Buys the same work from a seller not in `avoid`; its result (not yet accepted), or null when that purchase failed. */
  buyWitness(parent: ResultClaim, avoid: readonly string[]): Promise<ResultClaim | null>;
  accept(claim: ResultClaim): Promise<void>;
  /** Rejects the result on the exchange; with `witnesses` (txIds), submits them as evidence. */
  reject(claim: ResultClaim, reason: string, witnesses: readonly string[]): Promise<void>;
  /** The seller's finished sales (the exchange's public reputation). */
  finishedSales(seller: string): Promise<number>;
  /** A uniform draw in [0, 1): injected, so a simulated run replays. */
  draw(): number;
  log(line: string): void;
}

/** Witness purchases that may fail before the buyer settles with what it has. */
const WITNESS_FAILURES_MAX = 2;

export interface CheckOutcome {
  /** Whether the purchase's own result was accepted (paid). */
  readonly accepted: boolean;
  /** When it was not: a witness's result that was (the purchase can use it instead of buying again). */
  readonly replacement: ResultClaim | null;
  readonly reason: string | null;
  /** The witness purchases' results (their price is the check's cost). */
  readonly witnesses: readonly ResultClaim[];
}

/**
 * Checks `own` and settles it and every witness bought for it: results with the majority's hash
 * that passed the own check are accepted; the others are rejected, with evidence where the
 * majority is against them.
 */
export async function checkResult(port: CheckPort, policy: VerificationPolicy, own: ResultClaim): Promise<CheckOutcome> {
  const claims: ResultClaim[] = [own];
  let failures = 0;
  const wanted = async (): Promise<boolean> => {
    if (!policy.replicable) return false;
    if (claims.length === 1) return !own.checkedOk || port.draw() < spotCheckRate(policy, await port.finishedSales(own.seller));
    return agreedResult(claims) === null && claims.length - 1 < EVIDENCE_WITNESSES_MAX;
  };
  while (failures <= WITNESS_FAILURES_MAX && (await wanted())) {
    // As many at once as agreement still needs (two results that pass the check), so that the
    // check ends well inside the transaction's deadline; each avoids the sellers asked so far.
    const count = Math.min(witnessesNeeded(claims), EVIDENCE_WITNESSES_MAX - (claims.length - 1));
    // Distinct: two witnesses bought at once may both have come from one seller with several
    // workers (one vote), and the exchange refuses an avoid list that names a seller twice.
    const avoid = [...new Set(claims.map((claim) => claim.seller))];
    const bought = await Promise.all(Array.from({ length: count }, () => port.buyWitness(own, avoid)));
    for (const witness of bought) {
      if (witness === null) failures++;
      else claims.push(witness);
    }
    // A round in which no witness could be bought: no other seller is there now; asking again
    // would only wait as long once more.
    if (bought.every((witness) => witness === null)) break;
  }
  const majority = claims.length > 1 ? agreedResult(claims) : null;
  if (claims.length > 1 && majority === null) port.log(`${own.tradeId}: no majority among ${claims.length} results (${failures} witness purchases failed): each result stands on its own check`);
  else if (!own.checkedOk && majority === null) port.log(`${own.tradeId}: the result failed the check and no witness agreed (${failures} witness purchases failed): the dispute waits for the arbiter`);
  let outcome: CheckOutcome = { accepted: false, replacement: null, reason: null, witnesses: claims.slice(1) };
  // Rejections first: evidence names live witnesses, so they are accepted only afterwards.
  const ordered = [...claims].sort((a, b) => Number(verdict(a, majority)) - Number(verdict(b, majority)));
  for (const claim of ordered) {
    const accepted = verdict(claim, majority);
    if (accepted) await port.accept(claim);
    else {
      const against = majority !== null && claim.resultHash !== majority;
      const witnesses = against ? agreeing(claims, majority).map((other) => other.txId) : [];
      const reason = claim.problem ?? (against ? 'the result differs from the majority of other sellers\' results for the same work' : 'the result failed the check');
      await port.reject(claim, reason, witnesses);
    }
    if (accepted && claim !== own && outcome.replacement === null) outcome = { ...outcome, replacement: claim };
    if (claim === own) outcome = { ...outcome, accepted, reason: accepted ? null : (claim.problem ?? 'the result differs from other sellers\' results for the same work') };
  }
  return outcome.accepted ? { ...outcome, replacement: null } : outcome;
}

/**
 * The results that agree on `hash` and passed the own check, one per seller, at most as many as
 * evidence takes: with the disputed result they are a strict majority on the exchange.
 */
function agreeing(claims: readonly ResultClaim[], hash: string): ResultClaim[] {
  const bySeller = new Map<string, ResultClaim>();
  for (const claim of claims) if (claim.checkedOk && claim.resultHash === hash && !bySeller.has(claim.seller)) bySeller.set(claim.seller, claim);
  return [...bySeller.values()].slice(0, EVIDENCE_WITNESSES_MAX);
}

/**
 * The result that at least two results which passed the buyer's own check agree on (one vote per
 * seller), more than any other among those; null when none. Results that failed the own check
 * are known to be wrong and do not vote here.
 */
function agreedResult(claims: readonly ResultClaim[]): string | null {
  const ranked = [...sellerVotes(claims.filter((claim) => claim.checkedOk)).votes].sort((a, b) => b[1] - a[1]);
  const [first, second] = ranked;
  return first !== undefined && first[1] >= 2 && (second === undefined || second[1] < first[1]) ? first[0] : null;
}

/** How many more results that pass the check could make two agree: 2 less the largest group that agrees now. */
function witnessesNeeded(claims: readonly ResultClaim[]): number {
  const { votes } = sellerVotes(claims.filter((claim) => claim.checkedOk));
  return Math.max(1, 2 - Math.max(0, ...votes.values()));
}

/** A result is accepted when it passed the own check and, where results were compared, has the majority's hash. */
function verdict(claim: ResultClaim, majority: string | null): boolean {
  return claim.checkedOk && (majority === null || claim.resultHash === majority);
}
