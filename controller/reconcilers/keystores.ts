/**
 * The keystores of KeyShares, as last read from their Secrets by the KeyShare reconciler
 * ("namespace/keyshare" -> contents). The Operator reconciler builds its node's Secret from
 * here, so delivering one more share does not read every other share's Secret again.
 */
export interface Keystore {
  keystore: Buffer;
  password: Buffer;
}

export class Keystores {
  private readonly byKeyShare = new Map<string, Keystore>();

  get(key: string): Keystore | undefined {
    return this.byKeyShare.get(key);
  }

  /** Records `value` (or its absence); true if that changed what is known. */
  set(key: string, value: Keystore | undefined): boolean {
    const previous = this.byKeyShare.get(key);
    if (value === undefined) return this.byKeyShare.delete(key);
    this.byKeyShare.set(key, value);
    return previous === undefined || !previous.keystore.equals(value.keystore) || !previous.password.equals(value.password);
  }
}
