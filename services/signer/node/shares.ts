/**
 * An operator's key shares as the node runs them: one cluster lock, this operator's place in
 * it, and its secret share of every validator of the lock, each checked against the lock's
 * public share before the node signs anything with it.
 *
 * From a key-shares manifest (keyshares.json, the Kubernetes Secret) or from a DKG output folder.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { fromBytesBE, readKeystoreFile, decryptKeystore, readPasswordFile, secretKeyFromScalar } from "../../core/crypto/index.js";
import { type ClusterLock, readLockFile } from "../../core/cluster/lock.js";
import { type KeyShareEntry, MANIFEST_FILE, readManifestFile } from "../../core/cluster/manifest.js";
import { readKeyShares } from "../../core/cluster/shares.js";
import { NektarError } from "../../core/errors.js";
import { toHex } from "../../core/hex.js";
import type { Identity } from "../../core/p2p/identity.js";
import type { SharesSource } from "./config.js";

export interface LoadedShares {
  lock: ClusterLock;
  /** This operator's position in lock.definition.operators; its share id is operatorIndex + 1. */
  operatorIndex: number;
  /** This operator's secret share of each validator, in lock.validators order. */
  shares: bigint[];
  /** Each validator's share name (the KeyShare's name; from a DKG folder, validator-<i>), in lock order. */
  names: string[];
  /** Same lock, same shares: same fingerprint. A reload that changes nothing (or only names) restarts nothing. */
  fingerprint: string;
}

/** The shares from `source`; undefined when a manifest lists none yet (an operator with no KeyShares). */
export async function loadShares(source: SharesSource, identity: Identity): Promise<LoadedShares | undefined> {
  if (source.kind === "dkg") {
    const lock = await readLockFile(source.lockFile);
    const operatorIndex = operatorIndexOf(lock, identity, source.lockFile);
    const shares = await readKeyShares(source.keysDir, lock, operatorIndex + 1, await readPasswordFile(source.passwordFile));
    return withFingerprint({ lock, operatorIndex, shares, names: lock.validators.map((_, i) => `validator-${i}`) });
  }
  const manifestFile = join(source.dir, MANIFEST_FILE);
  // The Secret is optional: until the operator's first KeyShare, the folder is empty.
  if (!existsSync(manifestFile)) return undefined;
  const manifest = await readManifestFile(manifestFile);
  if (manifest.length === 0) return undefined;
  const lockFiles = [...new Set(manifest.map((e) => e.clusterLockFile))];
  if (lockFiles.length > 1) {
    throw new NektarError(`${manifestFile}: shares of ${lockFiles.length} cluster locks (${lockFiles.join(", ")}); a node runs the validators of one cluster lock`);
  }
  const lockFile = join(source.dir, lockFiles[0]!);
  const lock = await readLockFile(lockFile);
  const operatorIndex = operatorIndexOf(lock, identity, lockFile);
  const byPubkey = new Map(manifest.map((e) => [e.validatorPubkey, e]));
  const missing = lock.validators.filter((v) => !byPubkey.has(v.pubkey));
  if (missing.length > 0) {
    throw new NektarError(
      `${manifestFile}: lists ${manifest.length} of the ${lock.validators.length} validators of ${lockFile}, not ${missing.map((v) => v.pubkey.slice(0, 12)).join(", ")}: the cluster signs for every validator of its lock, so a node needs a share of each`,
    );
  }
  const shares: bigint[] = [];
  const names: string[] = [];
  for (const validator of lock.validators) {
    const entry = byPubkey.get(validator.pubkey)!;
    checkEntry(entry, lock, operatorIndex, `${manifestFile}: ${entry.name}`);
    shares.push(await readShare(source.dir, entry));
    names.push(entry.name);
  }
  const extra = manifest.find((e) => !lock.validators.some((v) => v.pubkey === e.validatorPubkey));
  if (extra) throw new NektarError(`${manifestFile}: ${extra.name}: validator ${extra.validatorPubkey} is not in ${lockFile}`);
  return withFingerprint({ lock, operatorIndex, shares, names });
}

function operatorIndexOf(lock: ClusterLock, identity: Identity, lockFile: string): number {
  const peerId = identity.peerId.toString();
  const index = lock.definition.operators.findIndex((op) => op.peerId === peerId);
  if (index < 0) throw new NektarError(`${lockFile}: this node's identity (peer id ${peerId}) is not an operator of the cluster ${lock.definition.name}: check identityFile`);
  return index;
}

/** A manifest entry must say what the lock says: a share the node would sign with must be the lock's. */
function checkEntry(entry: KeyShareEntry, lock: ClusterLock, operatorIndex: number, what: string): void {
  const validator = lock.validators.find((v) => v.pubkey === entry.validatorPubkey)!;
  if (entry.shareIndex !== operatorIndex + 1) {
    throw new NektarError(`${what}: shareIndex ${entry.shareIndex}, but this node is operator ${operatorIndex + 1} of the lock: the share belongs to another operator`);
  }
  if (entry.threshold !== lock.definition.threshold) throw new NektarError(`${what}: threshold ${entry.threshold}, the lock's is ${lock.definition.threshold}`);
  if (entry.publicShares.join() !== validator.publicShares.join()) throw new NektarError(`${what}: publicShares differ from the lock's for validator ${entry.validatorPubkey}`);
}

/** Decrypts one share and checks its public key against the entry's public share. */
async function readShare(dir: string, entry: KeyShareEntry): Promise<bigint> {
  const file = join(dir, entry.keystoreFile);
  const keystore = await readKeystoreFile(file);
  const share = fromBytesBE(await decryptKeystore(keystore, await readPasswordFile(join(dir, entry.passwordFile)), file));
  const expected = entry.publicShares[entry.shareIndex - 1]!;
  const actual = toHex(secretKeyFromScalar(share).toPublicKey().toBytes());
  if (actual !== expected) throw new NektarError(`${file}: holds the secret of ${actual}, not share ${entry.shareIndex} of ${entry.validatorPubkey} (${expected})`);
  return share;
}

function withFingerprint(loaded: Omit<LoadedShares, "fingerprint">): LoadedShares {
  const hash = createHash("sha256").update(loaded.lock.lockHash).update(String(loaded.operatorIndex));
  for (const share of loaded.shares) hash.update(`${share.toString(16)};`);
  return { ...loaded, fingerprint: hash.digest("hex") };
}
