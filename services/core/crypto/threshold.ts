/**
 * Threshold BLS: a validator key split by Shamir (shamir.ts) signs through its shares. Each share
 * signs the message (a partial signature, σ_i = s_i·H(m)); any t partials recover σ = Σ λ_i·σ_i,
 * the very signature the whole key would make, byte for byte, because Σ λ_i·s_i = s. Likewise
 * the public shares (s_i·G) recover the validator's public key.
 *
 * Recovery and batch verification run on blst's point additions (msm.ts): the Lagrange
 * coefficients are small integers times one common scalar (lagrangeAtZeroFactored), so recovery
 * is a short multi-scalar multiplication and one full one.
 */
import { type PublicKey, type Signature, verify } from "@chainsafe/blst";
import { randomWeights } from "./fr.js";
import { parseSignature, secretKeyFromScalar } from "./bls.js";
import { G1, G2 } from "./groups.js";
import { multiScalarMul, scalarMul } from "./msm.js";
import { type Share, lagrangeAtZeroFactored, thresholdSubset, validateIds } from "./shamir.js";

export interface PartialSignature {
  /** The id of the share that signed. */
  readonly id: number;
  readonly signature: Signature;
}

export interface PublicShare {
  readonly id: number;
  /** s_i·G, what partial signatures of share `id` verify against. */
  readonly publicKey: PublicKey;
}

export function publicShare(share: Share): PublicShare {
  return { id: share.id, publicKey: secretKeyFromScalar(share.value).toPublicKey() };
}

export function signPartial(share: Share, message: Uint8Array): PartialSignature {
  return { id: share.id, signature: secretKeyFromScalar(share.value).sign(message) };
}

/** A partial signature from the wire, group-checked; errors name the share id. */
export function parsePartialSignature(id: number, bytes: Uint8Array): PartialSignature {
  validateIds([id], "partial signature");
  return { id, signature: parseSignature(bytes, `partial signature of share ${id}`) };
}

export function verifyPartial(message: Uint8Array, partial: PartialSignature, publicKey: PublicKey): boolean {
  return verify(message, publicKey, partial.signature);
}

/**
 * Whether all partial signatures of one message are valid, checked at once. A partial whose id
 * has no public share is invalid.
 *
 * One pairing check for the whole batch: with random 64-bit weights w_i,
 * e(Σ w_i·σ_i, G) = e(H(m), Σ w_i·pk_i) holds for a batch with an invalid partial with
 * probability 2^-64 (the points are group-checked, so no small-subgroup component can cancel).
 * Unlike verifying the recovered signature, this catches errors that cancel out in recovery.
 */
export function verifyPartials(
  message: Uint8Array,
  partials: readonly PartialSignature[],
  publicShares: ReadonlyMap<number, PublicKey>,
): boolean {
  validateIds(
    partials.map((p) => p.id),
    "partial signatures",
  );
  if (partials.length === 0) return true;
  if (!partials.every((p) => publicShares.has(p.id))) return false;
  const weights = randomWeights(partials.length);
  const signature = multiScalarMul(
    G2,
    partials.map((p) => p.signature),
    weights,
  );
  const publicKey = multiScalarMul(
    G1,
    partials.map((p) => publicShares.get(p.id)!),
    weights,
  );
  return verify(message, publicKey, signature);
}

/**
 * The ids of the invalid partial signatures (unknown share ids included), none if all are valid:
 * one batched check, and only if it fails, one check per partial to name the culprits.
 */
export function findInvalidPartials(
  message: Uint8Array,
  partials: readonly PartialSignature[],
  publicShares: ReadonlyMap<number, PublicKey>,
): number[] {
  validateIds(
    partials.map((p) => p.id),
    "partial signatures",
  );
  if (partials.length > 1 && verifyPartials(message, partials, publicShares)) return [];
  return partials
    .filter((p) => {
      const publicKey = publicShares.get(p.id);
      return publicKey === undefined || !verifyPartial(message, p, publicKey);
    })
    .map((p) => p.id)
    .sort((a, b) => a - b);
}

/**
 * The signature of the whole key from `threshold` partial signatures (the first t are used; more
 * add nothing). The partials are not verified here: a wrong one yields a wrong signature, so
 * verify the result against the validator's public key, and on failure find the culprits with
 * findInvalidPartials.
 */
export function recoverSignature(partials: readonly PartialSignature[], threshold: number): Signature {
  const chosen = thresholdSubset(partials, threshold, "partial signatures");
  const { scale, numerators } = lagrangeAtZeroFactored(chosen.map((p) => p.id));
  const sum = multiScalarMul(
    G2,
    chosen.map((p) => p.signature),
    numerators,
  );
  return scalarMul(G2, sum, scale);
}

/** The validator's public key from `threshold` public shares (the first t are used). */
export function recoverPublicKey(publicShares: readonly PublicShare[], threshold: number): PublicKey {
  const chosen = thresholdSubset(publicShares, threshold, "public shares");
  const { scale, numerators } = lagrangeAtZeroFactored(chosen.map((p) => p.id));
  const sum = multiScalarMul(
    G1,
    chosen.map((p) => p.publicKey),
    numerators,
  );
  return scalarMul(G1, sum, scale);
}
