/**
 * EIP-2333 key derivation (BLS12-381 secret keys as a tree grown from one seed) and the EIP-2334
 * paths that name where in the tree a validator's keys live.
 *
 * Secret keys are bigints in [1, r), like the rest of this package; `toBytes32` from fr.ts gives
 * the 32-byte big-endian form blst and keystores use.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { NektarError } from "../errors.js";
import { FR_ORDER, fromBytesBE, toBytes32 } from "./fr.js";

const KEYGEN_SALT = new TextEncoder().encode("BLS-SIG-KEYGEN-SALT-");
/** HKDF_mod_r output length: ceil(3 * ceil(log2(r)) / 16) = 48 bytes, enough to make mod r unbiased. */
const L = 48;
/** HKDF-SHA256 stretches to at most 255 digests, hence 255 Lamport chunks (not 256). */
const LAMPORT_CHUNKS = 255;
const MAX_INDEX = 2 ** 32 - 1;

/**
 * HKDF_mod_r, identical to KeyGen of the IETF BLS signature draft (v4+): hashes `ikm` into a
 * nonzero scalar, re-hashing the salt in the (probability ~2^-255) case the result is 0.
 */
export function hkdfModR(ikm: Uint8Array, keyInfo: Uint8Array = new Uint8Array(0)): bigint {
  const ikmWithZero = concat(ikm, Uint8Array.of(0));
  const info = concat(keyInfo, Uint8Array.of(L >> 8, L & 0xff));
  let salt = KEYGEN_SALT;
  for (;;) {
    salt = sha256(salt);
    const sk = fromBytesBE(hkdf(sha256, ikmWithZero, salt, info, L)) % FR_ORDER;
    if (sk !== 0n) return sk;
  }
}

/** IKM_to_lamport_SK: 255 chunks of 32 bytes stretched from `ikm`. */
export function ikmToLamportSk(ikm: Uint8Array, salt: Uint8Array): Uint8Array[] {
  const okm = hkdf(sha256, ikm, salt, new Uint8Array(0), 32 * LAMPORT_CHUNKS);
  return Array.from({ length: LAMPORT_CHUNKS }, (_, i) => okm.subarray(32 * i, 32 * (i + 1)));
}

/**
 * parent_SK_to_lamport_PK: the compressed Lamport public key of the child at `index`, the
 * post-quantum fallback EIP-2333 hides in every derivation step.
 */
export function parentSkToLamportPk(parentSk: bigint, index: number): Uint8Array {
  checkIndex(index, "child index");
  const salt = Uint8Array.of(index >>> 24, (index >>> 16) & 0xff, (index >>> 8) & 0xff, index & 0xff);
  const ikm = toBytes32(parentSk);
  const notIkm = ikm.map((b) => ~b & 0xff);
  const chunks = [...ikmToLamportSk(ikm, salt), ...ikmToLamportSk(notIkm, salt)];
  const lamportPk = new Uint8Array(32 * chunks.length);
  chunks.forEach((chunk, i) => lamportPk.set(sha256(chunk), 32 * i));
  return sha256(lamportPk);
}

/** derive_master_SK: the root of the tree. The seed is normally a BIP-39 mnemonic's seed. */
export function deriveMasterSk(seed: Uint8Array): bigint {
  if (seed.length < 32) {
    throw new NektarError(`EIP-2333 seed: must be at least 32 bytes, got ${seed.length}`);
  }
  return hkdfModR(seed);
}

/** derive_child_SK: the child at `index` (0 <= index < 2^32) of `parentSk`. All keys are hardened. */
export function deriveChildSk(parentSk: bigint, index: number): bigint {
  return hkdfModR(parentSkToLamportPk(parentSk, index));
}

/**
 * Parses an EIP-2334 path such as `m/12381/3600/0/0/0` into its indices ([12381, 3600, 0, 0, 0]).
 * Spaces around `/` are allowed because EIP-2334 itself writes paths that way.
 */
export function parsePath(path: string): number[] {
  const [root, ...nodes] = path.split("/").map((part) => part.trim());
  if (root !== "m") throw new NektarError(`key path '${path}': must start with 'm'`);
  return nodes.map((node) => {
    if (!/^\d+$/.test(node)) throw new NektarError(`key path '${path}': '${node}' is not a decimal index`);
    const index = Number(node);
    checkIndex(index, `key path '${path}'`);
    return index;
  });
}

/** The secret key at `path` in the tree grown from `seed`. */
export function deriveSkFromPath(seed: Uint8Array, path: string): bigint {
  return parsePath(path).reduce(deriveChildSk, deriveMasterSk(seed));
}

/** EIP-2334: purpose 12381 (BLS12-381), coin type 3600 (Ethereum consensus layer). */
const ETH2_ROOT = "m/12381/3600";

/** EIP-2334 path of validator `validatorIndex`'s signing key. */
export function signingKeyPath(validatorIndex: number): string {
  checkIndex(validatorIndex, "validator index");
  return `${ETH2_ROOT}/${validatorIndex}/0/0`;
}

/** EIP-2334 path of validator `validatorIndex`'s withdrawal key (the parent of its signing key). */
export function withdrawalKeyPath(validatorIndex: number): string {
  checkIndex(validatorIndex, "validator index");
  return `${ETH2_ROOT}/${validatorIndex}/0`;
}

function checkIndex(index: number, what: string): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) {
    throw new NektarError(`${what}: index ${index} is outside 0..2^32-1`);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
