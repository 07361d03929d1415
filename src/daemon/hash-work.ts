// The test article's work (net.bitwrk/test/hash/0): the result is SHA-256 applied ROUNDS times to
// the work (H¹ = SHA-256(work), Hᵏ = SHA-256(Hᵏ⁻¹)) as lowercase hex and a newline. Cheap enough to
// run anywhere, costly enough to be real work, and a buyer can check a result by redoing it.
import { createHash } from 'node:crypto';

export const HASH_ROUNDS = 100_000;

export function hashWork(work: Uint8Array, rounds = HASH_ROUNDS): Uint8Array {
  return hashWorkFromDigest(createHash('sha256').update(work).digest(), rounds);
}

/** The result from H¹ = SHA-256(work), for work hashed as it streams. */
export function hashWorkFromDigest(first: Uint8Array, rounds = HASH_ROUNDS): Uint8Array {
  let digest = Buffer.from(first);
  for (let round = 1; round < rounds; round++) digest = createHash('sha256').update(digest).digest();
  return new TextEncoder().encode(`${digest.toString('hex')}\n`);
}

/** The result for work read as a stream (a file in CAFS need not fit in memory). */
export async function hashWorkStream(work: AsyncIterable<Uint8Array>, rounds = HASH_ROUNDS): Promise<Uint8Array> {
  const first = createHash('sha256');
  for await (const part of work) first.update(part);
  return hashWorkFromDigest(first.digest(), rounds);
}
