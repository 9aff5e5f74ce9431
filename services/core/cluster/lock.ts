/**
 * The cluster lock: what a ceremony made, signed by every operator. It holds the definition it
 * was made from, and for every validator its public key, the public key of every operator's
 * share (by operator index: share id = index + 1) and its deposit data. Signer nodes load it to
 * know whom they sign with and how to check a partial signature.
 *
 * Canonical form, in the style of the definition's config hash (definition.ts):
 *
 *     LockValidator = Container(pubkey: Bytes48, public_shares: List[Bytes48, 64],
 *                               deposit_data: DepositData)              the consensus type
 *     ClusterLock   = Container(version: ByteList[64], config_hash: Bytes32,
 *                               predecessor: Bytes32, validators: List[LockValidator, 10000])
 *     lock_hash     = hash_tree_root(ClusterLock)
 *
 * `config_hash` is the definition's; `predecessor` the lock hash of the cluster a resharing
 * started from (zero after a DKG). Each operator signs "nektar-cluster-lock:" || lock_hash with
 * its identity key, as it signed the definition (its own prefix there).
 */
import { readFile } from "node:fs/promises";
import { ByteListType, ByteVectorType, ContainerType, ListCompositeType } from "@chainsafe/ssz";
import { ssz } from "@lodestar/types";
import { peerIdFromString } from "@libp2p/peer-id";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { parsePublicKey, recoverPublicKey } from "../crypto/index.js";
import { NektarError } from "../errors.js";
import { DepositDataEntrySchema, type DepositDataEntry, eth1WithdrawalCredentials, verifyDepositData } from "../eth/index.js";
import { fromHex, toHex } from "../hex.js";
import { ClusterDefinitionSchema, type ClusterDefinition, MAX_OPERATORS, MAX_VALIDATORS, assertFullySigned, configHash, parseDefinition } from "../p2p/definition.js";
import type { Identity } from "../p2p/identity.js";
import { writeFileAtomic } from "../store/files.js";

export const LOCK_VERSION = "nektar/cluster-lock/v1";
const SIGNING_PREFIX = new TextEncoder().encode("nektar-cluster-lock:");

const HexPublicKey = Type.String({ pattern: "^0x[0-9a-f]{96}$" });
const Hex32 = Type.String({ pattern: "^0x[0-9a-f]{64}$" });

export const LockValidatorSchema = Type.Object(
  {
    pubkey: HexPublicKey,
    /** s_j·G of every operator j, in definition order. */
    publicShares: Type.Array(HexPublicKey, { minItems: 1, maxItems: MAX_OPERATORS }),
    depositData: DepositDataEntrySchema,
  },
  { additionalProperties: false },
);

export const ClusterLockSchema = Type.Object(
  {
    version: Type.Literal(LOCK_VERSION),
    definition: ClusterDefinitionSchema,
    /** The lock hash of the cluster this one was reshared from. */
    predecessor: Type.Optional(Hex32),
    validators: Type.Array(LockValidatorSchema, { minItems: 1, maxItems: MAX_VALIDATORS }),
    lockHash: Hex32,
    /** Every operator's signature of the lock hash, in definition order. */
    signatures: Type.Array(Type.String({ pattern: "^0x[0-9a-f]{2,160}$" }), { minItems: 1, maxItems: MAX_OPERATORS }),
  },
  { additionalProperties: false },
);

export type LockValidator = Static<typeof LockValidatorSchema>;
export type ClusterLock = Static<typeof ClusterLockSchema>;
/** A lock before its operators sign it. */
export type UnsignedLock = Omit<ClusterLock, "lockHash" | "signatures">;

// ---------------------------------------------------------------------------------------------
// The lock hash and signatures

const Bytes48 = new ByteVectorType(48);
const SszLockValidator = new ContainerType({
  pubkey: Bytes48,
  publicShares: new ListCompositeType(Bytes48, MAX_OPERATORS),
  depositData: ssz.phase0.DepositData,
});
const SszClusterLock = new ContainerType({
  version: new ByteListType(64),
  configHash: new ByteVectorType(32),
  predecessor: new ByteVectorType(32),
  validators: new ListCompositeType(SszLockValidator, MAX_VALIDATORS),
});

export function lockHash(lock: UnsignedLock): Uint8Array {
  const bytes = (hex: string, what: string, length?: number) => fromHex(hex, what, length);
  return SszClusterLock.hashTreeRoot({
    version: new TextEncoder().encode(lock.version),
    configHash: configHash(lock.definition),
    predecessor: lock.predecessor === undefined ? new Uint8Array(32) : bytes(lock.predecessor, "predecessor", 32),
    validators: lock.validators.map((v, i) => ({
      pubkey: bytes(v.pubkey, `validators/${i}/pubkey`, 48),
      publicShares: v.publicShares.map((s, j) => bytes(s, `validators/${i}/publicShares/${j}`, 48)),
      depositData: {
        pubkey: bytes(v.depositData.pubkey, `validators/${i}/depositData/pubkey`, 48),
        withdrawalCredentials: bytes(v.depositData.withdrawal_credentials, `validators/${i}/depositData/withdrawal_credentials`, 32),
        amount: v.depositData.amount,
        signature: bytes(v.depositData.signature, `validators/${i}/depositData/signature`, 96),
      },
    })),
  });
}

function signingMessage(hash: Uint8Array): Uint8Array {
  const message = new Uint8Array(SIGNING_PREFIX.length + hash.length);
  message.set(SIGNING_PREFIX);
  message.set(hash, SIGNING_PREFIX.length);
  return message;
}

/** This operator's signature of a lock hash. */
export async function signLockHash(hash: Uint8Array, identity: Identity): Promise<Uint8Array> {
  return identity.privateKey.sign(signingMessage(hash));
}

/** Whether `signature` is the signature of `hash` by the operator with `peerId`. */
export async function verifyLockSignature(hash: Uint8Array, peerId: string, signature: Uint8Array): Promise<boolean> {
  try {
    return await peerIdFromString(peerId).publicKey!.verify(signingMessage(hash), signature);
  } catch {
    return false; // malformed DER
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Checks a parsed JSON value as a lock, everything a node relies on: its shape; the definition
 * and its operators' signatures; the lock hash and every operator's signature of it; each
 * validator's key and public shares as G1 points, the key being what the first t public shares
 * recover; and its deposit data, for this key and the definition's withdrawal address and
 * network, with a valid signature. `what` names the input in errors.
 */
export async function parseLock(value: unknown, what: string): Promise<ClusterLock> {
  if (!Value.Check(ClusterLockSchema, value)) {
    const error = Value.Errors(ClusterLockSchema, value).First();
    throw new NektarError(`${what}: ${error === undefined ? "not a cluster lock" : `${error.path.slice(1) || "(top level)"}: ${error.message}`}`);
  }
  const lock = value;
  const definition = parseDefinition(lock.definition, `${what}: definition`);
  assertFullySigned(definition, `${what}: definition`);
  const n = definition.operators.length;
  if (lock.validators.length !== definition.numValidators) {
    throw new NektarError(`${what}: ${lock.validators.length} validators, the definition asks for ${definition.numValidators}`);
  }

  const hash = lockHash(lock);
  if (toHex(hash) !== lock.lockHash) throw new NektarError(`${what}: lockHash ${lock.lockHash} is not the hash of the lock's contents (${toHex(hash)})`);
  if (lock.signatures.length !== n) throw new NektarError(`${what}: ${lock.signatures.length} signatures for ${n} operators`);
  for (const [i, op] of definition.operators.entries()) {
    if (!(await verifyLockSignature(hash, op.peerId, fromHex(lock.signatures[i]!, `${what}: signatures/${i}`)))) {
      throw new NektarError(`${what}: signatures/${i}: not ${op.name}'s signature of lock hash ${lock.lockHash}`);
    }
  }

  const credentials = toHex(eth1WithdrawalCredentials(definition.withdrawalAddress)).slice(2);
  for (const [i, v] of lock.validators.entries()) {
    const at = `${what}: validators/${i}`;
    const pubkey = parsePublicKey(fromHex(v.pubkey, `${at}/pubkey`, 48), `${at}/pubkey`);
    if (v.publicShares.length !== n) throw new NektarError(`${at}: ${v.publicShares.length} public shares for ${n} operators`);
    const shares = v.publicShares.map((s, j) => ({ id: j + 1, publicKey: parsePublicKey(fromHex(s, `${at}/publicShares/${j}`, 48), `${at}/publicShares/${j}`) }));
    if (toHex(recoverPublicKey(shares, definition.threshold).toBytes()) !== toHex(pubkey.toBytes())) {
      throw new NektarError(`${at}: the public shares do not recover the validator key ${v.pubkey}`);
    }
    checkDepositData(v.depositData, v.pubkey, credentials, definition, at);
  }
  return lock;
}

function checkDepositData(entry: DepositDataEntry, pubkey: string, credentials: string, definition: ClusterDefinition, at: string): void {
  if (`0x${entry.pubkey}` !== pubkey) throw new NektarError(`${at}/depositData: for pubkey 0x${entry.pubkey}, not the validator's ${pubkey}`);
  if (entry.withdrawal_credentials !== credentials) {
    throw new NektarError(`${at}/depositData: withdrawal credentials 0x${entry.withdrawal_credentials} do not pay the definition's withdrawal address ${definition.withdrawalAddress}`);
  }
  if (`0x${entry.fork_version}` !== definition.forkVersion) {
    throw new NektarError(`${at}/depositData: fork version 0x${entry.fork_version} is not the definition's ${definition.forkVersion}`);
  }
  const problems = verifyDepositData([entry]);
  if (problems.length > 0) throw new NektarError(`${at}/depositData: ${problems.map((p) => p.message.replace(/^entry 0: /, "")).join("; ")}`);
}

export async function readLockFile(path: string): Promise<ClusterLock> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new NektarError(`cannot read cluster lock ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseLock(json, `cluster lock ${path}`);
}

export function formatLock(lock: ClusterLock): string {
  return JSON.stringify(lock, null, 2) + "\n";
}

export async function writeLockFile(path: string, lock: ClusterLock): Promise<void> {
  await writeFileAtomic(path, formatLock(lock), { what: `cluster lock ${path}` });
}
