// Spreads client sockets over loopback source addresses (Linux accepts any 127.x.y.z as a
// source), so that many clients do not hit the exchange's cap of 64 connections per address.
// Each spreader owns one 127.<block>.y.z range, so scenarios and the normal client never share.

export class SourceAddresses {
  private index = 0;

  /**
   * @param block second octet of the range (1-254; 127.0.0.1 is left to the normal client)
   * @param perAddress sockets given each address before the next one is used
   */
  constructor(
    private readonly block: number,
    private readonly perAddress: number,
  ) {}

  /** The address for the next socket. */
  next(): string {
    const slot = Math.floor(this.index / this.perAddress);
    this.index += 1;
    return addressOf(this.block, slot);
  }

  /** Addresses handed out so far. */
  get addressesUsed(): number {
    return Math.ceil(this.index / this.perAddress);
  }
}

/** The `slot`-th address of a block: 127.block.(slot / 250).(slot % 250 + 1). */
export function addressOf(block: number, slot: number): string {
  return `127.${block}.${Math.floor(slot / 250) % 256}.${(slot % 250) + 1}`;
}
