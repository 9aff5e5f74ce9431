/**
 * What a ceremony leaves on disk, per operator, in one new folder created all at once (nothing is
 * written unless the ceremony completed, and a crash while writing leaves no folder). The layout
 * is services/core/cluster/shares.ts's, where signer nodes read it back.
 */
import { mkdir, readdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { formatLock } from "../core/cluster/lock.js";
import { DEPOSIT_DATA_FILE, KEYS_DIR, LOCK_FILE, keystoreFile } from "../core/cluster/shares.js";
import { type KdfParams, encryptKeystore, toBytes32, writeKeystoreFile } from "../core/crypto/index.js";
import { NektarError } from "../core/errors.js";
import { formatDepositData } from "../core/eth/index.js";
import { publishDirectory, writeFileAtomic } from "../core/store/files.js";
import type { CeremonyResult } from "./ceremony.js";

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
