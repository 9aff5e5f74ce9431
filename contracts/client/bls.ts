/**
 * BLS12-381 points between blst (zcash serialization, 48/96-byte compressed, 96/192-byte
 * uncompressed) and the EIP-2537 encoding the contracts take (every Fp padded to 64 bytes, Fp2
 * as c0 then c1, each 64-byte Fp split into the two words of the `G1Point`/`G2Point` structs).
 *
 * The zcash form writes Fp2 as c1 then c0 and puts three flag bits on the first byte; the
 * EIP-2537 form writes c0 first and has no flags. Getting this wrong gives points that are
 * still on the curve but not the right ones, so every conversion here is checked against blst
 * and the precompiles in bls.test.ts.
 */
import { PublicKey, Signature } from "@chainsafe/blst";
import type { SecretKey } from "@chainsafe/blst";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { keccak256 } from "ethers";

import { fromBytesBE } from "../../services/core/crypto/fr.js";
import { NektarError } from "../../services/core/errors.js";
import type { G1Point, G1PointStruct, G2Point, G2PointStruct } from "../generated/index.js";

export type { G1Point, G2Point };

/** Ethereum's signature tag: what blst's `sign` uses, and what task responses are signed with. */
export const SIGNATURE_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/** The proof-of-possession tag (IETF BLS draft, PopProve), used for operator registration. */
export const POP_DST = "BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

const FP_BYTES = 48;
const WORD = 1n << 256n;
const FLAG_BITS = 0xe0;

/** A 48-byte big-endian field element as the (hi, lo) words of its 64-byte EIP-2537 encoding. */
function fpWords(bytes: Uint8Array): [bigint, bigint] {
  const value = fromBytesBE(bytes);
  return [value / WORD, value % WORD];
}

function fpBytes(hi: bigint, lo: bigint): Uint8Array {
  const out = new Uint8Array(FP_BYTES);
  let v = hi * WORD + lo;
  for (let i = FP_BYTES - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new NektarError("BLS point: a coordinate does not fit in 48 bytes");
  return out;
}

/** The contract form of a blst public key. Rejects the point at infinity. */
export function g1FromPublicKey(publicKey: PublicKey): G1Point {
  const raw = publicKey.toBytes(false);
  if ((raw[0]! & FLAG_BITS) !== 0) throw new NektarError("BLS public key: the point at infinity has no contract encoding here");
  const [xHi, xLo] = fpWords(raw.subarray(0, 48));
  const [yHi, yLo] = fpWords(raw.subarray(48, 96));
  return { xHi, xLo, yHi, yLo };
}

/** The contract form of a blst signature (zcash order x1, x0, y1, y0 -> EIP-2537 x0, x1, y0, y1). */
export function g2FromSignature(signature: Signature): G2Point {
  const raw = signature.toBytes(false);
  if ((raw[0]! & FLAG_BITS) !== 0) throw new NektarError("BLS signature: the point at infinity has no contract encoding here");
  const [x1Hi, x1Lo] = fpWords(raw.subarray(0, 48));
  const [x0Hi, x0Lo] = fpWords(raw.subarray(48, 96));
  const [y1Hi, y1Lo] = fpWords(raw.subarray(96, 144));
  const [y0Hi, y0Lo] = fpWords(raw.subarray(144, 192));
  return { x0Hi, x0Lo, x1Hi, x1Lo, y0Hi, y0Lo, y1Hi, y1Lo };
}

/** A blst public key from the contract form (e.g. from an OperatorRegistered event), group-checked. */
export function publicKeyFromG1(point: G1PointStruct): PublicKey {
  const p = words(point, ["xHi", "xLo", "yHi", "yLo"]);
  const raw = new Uint8Array(96);
  raw.set(fpBytes(p[0]!, p[1]!), 0);
  raw.set(fpBytes(p[2]!, p[3]!), 48);
  return PublicKey.fromBytes(raw, true);
}

/** A blst signature from the contract form, group-checked. */
export function signatureFromG2(point: G2PointStruct): Signature {
  const p = words(point, ["x0Hi", "x0Lo", "x1Hi", "x1Lo", "y0Hi", "y0Lo", "y1Hi", "y1Lo"]);
  const raw = new Uint8Array(192);
  raw.set(fpBytes(p[2]!, p[3]!), 0);
  raw.set(fpBytes(p[0]!, p[1]!), 48);
  raw.set(fpBytes(p[6]!, p[7]!), 96);
  raw.set(fpBytes(p[4]!, p[5]!), 144);
  return Signature.fromBytes(raw, true);
}

function words<K extends string>(point: Record<K, unknown>, keys: K[]): bigint[] {
  return keys.map((k) => BigInt(point[k] as bigint | string | number));
}

/** The 128-byte EIP-2537 encoding of a G1 point (the ABI encoding of the struct). */
export function encodeG1(point: G1PointStruct): Uint8Array {
  const out = new Uint8Array(128);
  words(point, ["xHi", "xLo", "yHi", "yLo"]).forEach((w, i) => out.set(word32(w), i * 32));
  return out;
}

function word32(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * The operator id the contracts use: keccak256 of the 128-byte EIP-2537 encoding of the
 * operator's public key. Non-signers are passed sorted by this id.
 */
export function operatorIdOf(publicKey: PublicKey | G1PointStruct): string {
  const point = publicKey instanceof PublicKey ? g1FromPublicKey(publicKey) : publicKey;
  return keccak256(encodeG1(point));
}

/**
 * The proof of possession of `secretKey` the OperatorRegistry checks: a signature of the
 * 48-byte compressed public key under POP_DST. blst's binding fixes the signature tag, so this
 * one signature is made with noble (a constant-time scalar multiplication of the hashed key).
 */
export function proofOfPossession(secretKey: SecretKey): G2Point {
  const publicKey = secretKey.toPublicKey().toBytes(true);
  const hashed = bls12_381.G2.hashToCurve(publicKey, { DST: POP_DST });
  const proof = hashed.multiply(fromBytesBE(secretKey.toBytes())).toAffine();
  const split = (v: bigint): [bigint, bigint] => [v / WORD, v % WORD];
  const [x0Hi, x0Lo] = split(proof.x.c0);
  const [x1Hi, x1Lo] = split(proof.x.c1);
  const [y0Hi, y0Lo] = split(proof.y.c0);
  const [y1Hi, y1Lo] = split(proof.y.c1);
  return { x0Hi, x0Lo, x1Hi, x1Lo, y0Hi, y0Lo, y1Hi, y1Lo };
}
