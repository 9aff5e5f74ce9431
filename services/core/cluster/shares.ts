/**
 * An operator's key shares on disk, as a ceremony leaves them (services/dkg writes this folder):
 *
 *     cluster-lock.json                  the lock every operator signed (the same at every operator)
 *     deposit_data.json                  the deposits, as the staking deposit tools write them
 *     validator_keys/keystore-<v>.json   this operator's share of validator v, EIP-2335
 *
 * The keystores' password is the operator's own, given as a file; it is not written there.
 */
import { join } from "node:path";
import { decryptKeystore, fromBytesBE, readKeystoreFile } from "../crypto/index.js";
import { NektarError } from "../errors.js";
import type { ClusterLock } from "./lock.js";

export const LOCK_FILE = "cluster-lock.json";
export const DEPOSIT_DATA_FILE = "deposit_data.json";
export const KEYS_DIR = "validator_keys";

export function keystoreFile(validator: number): string {
  return `keystore-${validator}.json`;
}

/**
 * An operator's shares of every validator of `lock`, from the keystores of a ceremony's output
 * (its validator_keys folder). Each must be the operator's share (id `shareId`) in the lock.
 */
export async function readKeyShares(keysDir: string, lock: ClusterLock, shareId: number, password: string): Promise<bigint[]> {
  const shares: bigint[] = [];
  for (const [v, validator] of lock.validators.entries()) {
    const file = join(keysDir, keystoreFile(v));
    const keystore = await readKeystoreFile(file);
    const expected = validator.publicShares[shareId - 1]!.slice(2);
    if (keystore.pubkey?.toLowerCase() !== expected) {
      throw new NektarError(`${file}: not this operator's share ${shareId} of validator ${v} in the lock (its public key is 0x${keystore.pubkey ?? "missing"}, the lock's 0x${expected})`);
    }
    shares.push(fromBytesBE(await decryptKeystore(keystore, password, file)));
  }
  return shares;
}
