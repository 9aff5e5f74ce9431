/**
 * What of each KeyShare goes to its node, as last read by the KeyShare reconciler
 * ("namespace/keyshare" -> its keystore and password from their Secret, and its cluster lock).
 * The Operator reconciler builds its node's Secret from here, so delivering one more share does
 * not read every other share's Secret again.
 */
import type { ClusterLockFile } from "./cluster-locks.js";

export interface Keystore {
  keystore: Buffer;
  password: Buffer;
  /** Shared by every share of the lock's cluster. */
  clusterLock: ClusterLockFile;
}

/** How long a keystore read stays fresh: a rotated Secret reaches the node within this. */
export const KEYSTORE_FRESH_MS = 60_000;

export class Keystores {
  private readonly byKeyShare = new Map<string, Keystore>();
  private readonly readAt = new Map<string, number>();

  get(key: string): Keystore | undefined {
    return this.byKeyShare.get(key);
  }

  /** Whether the keystore of `key` was read less than KEYSTORE_FRESH_MS ago. */
  fresh(key: string): boolean {
    return Date.now() - (this.readAt.get(key) ?? 0) < KEYSTORE_FRESH_MS;
  }

  /** Records `value` (or its absence); true if that changed what is known. */
  set(key: string, value: Keystore | undefined): boolean {
    const previous = this.byKeyShare.get(key);
    if (value === undefined) {
      this.readAt.delete(key);
      return this.byKeyShare.delete(key);
    }
    this.readAt.set(key, Date.now());
    this.byKeyShare.set(key, value);
    return (
      previous === undefined ||
      !previous.keystore.equals(value.keystore) ||
      !previous.password.equals(value.password) ||
      previous.clusterLock.text !== value.clusterLock.text
    );
  }
}
