/**
 * What a ceremony leaves on disk, per operator, in one new folder created all at once (nothing is
 * written unless the ceremony completed, and a crash while writing leaves no folder):
 *
 *     cluster-lock.json               the lock every operator signed (the same at every operator)
 *     deposit_data.json               the deposits, as the staking deposit tools write them
 *     validator_keys/keystore-<v>.json   this operator's share of validator v, EIP-2335
 *
 * The keystores' password is the operator's own, given as a file; it is not written here.
 */
import { mkdir, readdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { type KdfParams, decryptKeystore, encryptKeystore, fromBytesBE, readKeystoreFile, toBytes32, writeKeystoreFile } from "../core/crypto/index.js";
import { NektarError } from "../core/errors.js";
import { formatDepositData } from "../core/eth/index.js";
import { publishDirectory, writeFileAtomic } from "../core/store/files.js";
import type { CeremonyResult } from "./ceremony.js";
import { type ClusterLock, formatLock } from "./lock.js";

export const LOCK_FILE = "cluster-lock.json";
export const DEPOSIT_DATA_FILE = "deposit_data.json";
export const KEYS_DIR = "validator_keys";

export function keystoreFile(validator: number): string {
  return `keystore-${validator}.json`;
}

/** Fails unless `dir` is missing or empty: checked before a ceremony, so a long one does not end in vain. */
export async function checkOutputFolder(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw new NektarError(`output folder ${dir}: ${err.message}`);
  });
  if (entries.length > 0) throw new NektarError(`output folder ${dir} is not empty: choose a new folder`);
}

export interface OutputOptions {
  /** The keystores' password. */
  password: string;
  /** The keystores' KDF; the EIP-2335 scrypt default when absent. */
  kdf?: KdfParams;
}

/** Writes a completed ceremony's output to the new folder `dir`. */
export async function writeCeremonyOutput(dir: string, result: CeremonyResult, options: OutputOptions): Promise<void> {
  const { lock, shareId, shares } = result;
  await publishDirectory(dir, async (tmp) => {
    await mkdir(join(tmp, KEYS_DIR), { mode: 0o700 });
    // The KDF is CPU and memory (scrypt at the EIP's cost: ~1 s and 256 MiB a key): one per core.
    // Writing is waiting for fsync: not bounded by the cores.
    const writes: Promise<void>[] = [];
    const write = (promise: Promise<void>) => {
      promise.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      writes.push(promise);
    };
    await forEachLimited(shares, availableParallelism(), async (share, v) => {
      const keystore = await encryptKeystore(toBytes32(share), options.password, {
        kdf: options.kdf,
        description: `nektar: share ${shareId} of validator ${lock.validators[v]!.pubkey}, cluster ${lock.definition.name}, lock ${lock.lockHash}`,
      });
      write(writeKeystoreFile(join(tmp, KEYS_DIR, keystoreFile(v)), keystore));
    });
    write(writeFileAtomic(join(tmp, DEPOSIT_DATA_FILE), formatDepositData(lock.validators.map((v) => v.depositData))));
    write(writeFileAtomic(join(tmp, LOCK_FILE), formatLock(lock)));
    await Promise.all(writes);
  });
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

/** Runs `fn` on every item, at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
