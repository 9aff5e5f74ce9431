/**
 * Feldman verifiable secret sharing: a dealer publishes C_k = a_k·G for the coefficients a_k of
 * its sharing polynomial f, and anyone holding share j checks s_j·G = Σ_k j^k·C_k = f(j)·G without
 * learning anything about the other shares. C_0 is the public key of the shared secret, and
 * Σ_k j^k·C_k is the public share of id j.
 *
 * s·G is one native fixed-base multiplication (SecretKey.toPublicKey); Σ_k j^k·C_k is Horner's
 * rule with the small multiplier j, or, for many checks at once, one multi-scalar multiplication.
 */
import type { PublicKey } from "@chainsafe/blst";
import { FR_ORDER, add, mul, randomWeights } from "./fr.js";
import { secretKeyFromScalar } from "./bls.js";
import { G1 } from "./groups.js";
import { multiScalarMul } from "./msm.js";
import { type Share, validateIds } from "./shamir.js";

/** C_k = a_k·G for the coefficients of a sharing polynomial (constant term first), all nonzero. */
export function commitPolynomial(coefficients: readonly bigint[]): PublicKey[] {
  return coefficients.map((a) => secretKeyFromScalar(a).toPublicKey());
}

/**
 * The commitments to the sum of several polynomials, coefficient by coefficient: in a joint
 * Feldman DKG each share is the sum of every dealer's share, and this commits to it.
 */
export function sumCommitments(polynomials: readonly (readonly PublicKey[])[]): PublicKey[] {
  const size = polynomials[0]?.length ?? 0;
  if (size === 0 || polynomials.some((c) => c.length !== size)) {
    throw new RangeError("sumCommitments: expects one or more commitment lists of one length");
  }
  return Array.from({ length: size }, (_, k) => G1.sum(polynomials.map((c) => c[k]!)));
}

/** Σ_k id^k·C_k = f(id)·G: the public share of `id`, by Horner's rule (·id is a sum of id copies). */
export function publicShareFromCommitments(commitments: readonly PublicKey[], id: number): PublicKey {
  if (commitments.length === 0) throw new RangeError("no commitments");
  validateIds([id], "public share");
  let acc = commitments[commitments.length - 1]!;
  for (let k = commitments.length - 2; k >= 0; k--) {
    acc = G1.sum([...Array<PublicKey>(id).fill(acc), commitments[k]!]);
  }
  return acc;
}

/** Whether `share` is f(share.id) for the polynomial committed to by `commitments`. */
export function verifyShare(commitments: readonly PublicKey[], share: Share): boolean {
  if (share.value < 0n || share.value >= FR_ORDER) return false;
  return G1.equals(fixedBaseMul(share.value), publicShareFromCommitments(commitments, share.id));
}

export interface ShareCheck {
  /**
   * The dealer's commitments. Checks of shares of one polynomial (e.g. one dealer's shares for
   * all receivers) should pass the same array: its points are then weighted once, not per share.
   */
  readonly commitments: readonly PublicKey[];
  readonly share: Share;
}

/**
 * Whether all shares are valid, checked at once, against one or many polynomials.
 *
 * With random 64-bit weights w_i, one equation stands for all:
 * (Σ w_i·s_i)·G = Σ_poly Σ_k (Σ_{i of poly} w_i·j_i^k)·C_k, a single multi-scalar
 * multiplication of the distinct commitment points with integer scalars. A batch with an invalid
 * share passes with probability 2^-64.
 */
export function verifyShares(checks: readonly ShareCheck[]): boolean {
  if (!checks.every(({ share }) => share.value >= 0n && share.value < FR_ORDER)) return false;
  const weights = randomWeights(checks.length);
  let weightedShares = 0n;
  const scalarsByPolynomial = new Map<readonly PublicKey[], bigint[]>();
  for (const [i, { commitments, share }] of checks.entries()) {
    const w = weights[i]!;
    weightedShares = add(weightedShares, mul(w, share.value));
    let scalars = scalarsByPolynomial.get(commitments);
    if (scalars === undefined) scalarsByPolynomial.set(commitments, (scalars = commitments.map(() => 0n)));
    const j = BigInt(share.id);
    let term = w;
    for (let k = 0; k < scalars.length; k++, term *= j) scalars[k] = scalars[k]! + term;
  }
  const points = [...scalarsByPolynomial.keys()].flat();
  const scalars = [...scalarsByPolynomial.values()].flat();
  return G1.equals(fixedBaseMul(weightedShares), multiScalarMul(G1, points, scalars));
}

/**
 * The indices (into `checks`) of the invalid shares, none if all are valid: one batched check,
 * and only if it fails, one check per share to name the culprits.
 */
export function findInvalidShares(checks: readonly ShareCheck[]): number[] {
  if (checks.length > 1 && verifyShares(checks)) return [];
  return checks.flatMap(({ commitments, share }, i) => (verifyShare(commitments, share) ? [] : [i]));
}

/** k·G for k in [0, r), natively. */
function fixedBaseMul(k: bigint): PublicKey {
  return k === 0n ? G1.identity : secretKeyFromScalar(k).toPublicKey();
}
