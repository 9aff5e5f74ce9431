/**
 * The arithmetic of a joint-Feldman ceremony, many validators at once, apart from any network.
 *
 * For every validator v, each dealer i shares a secret a_{i,v,0} with a random polynomial
 * f_{i,v} of degree t-1, publishes C_{i,v,k} = a_{i,v,k}·G and gives operator j its share
 * f_{i,v}(j). Operator j's key share is Σ_i λ_i·f_{i,v}(j) over the qualified dealers, where
 * λ_i = 1 in a DKG (the validator key is Σ_i a_{i,v,0}) and λ_i is the Lagrange coefficient of
 * the dealer's old share id when resharing (a_{i,v,0} is the dealer's old share, so the key does
 * not change).
 *
 * Subgroup checks, and why they are not per point. Commitments arrive uncompressed and are only
 * checked to be on the curve: a full G1 membership check costs ~50 us, and one operator of a
 * 16-operator, 100-validator ceremony receives 17,600 commitments. Every map applied to them here
 * (sums, integer multiples, the GLV endomorphism in scalarMul) is a homomorphism of the curve
 * group E = G1 ⊕ T (T the cofactor torsion), so it acts on the G1 component exactly as on a
 * checked point. Hence:
 *  - a share check (s·G = Σ_k j^k·C_k, batched with random weights or not) that passes proves the
 *    share right for the G1 components of the commitments (a torsion component can only make a
 *    check fail, as s·G has none);
 *  - what the ceremony outputs is made from combined commitments (`combine`), and those are
 *    group-checked (t points per validator), which is enough for every public share and the
 *    validator key, integer combinations of them, to be in G1. A dealer whose points carry
 *    torsion that survives into the sum is found by checking its own points then, and
 *    disqualified (everyone decides alike: the deals are the same everywhere, see ceremony.ts).
 * Proofs of possession are checked, likewise, on random combinations of the keys and proofs
 * that are themselves group-checked, which proves possession of the G1 components.
 */
import { type PublicKey, type Signature, aggregateVerify, verify } from "@chainsafe/blst";
import {
  type FactoredLagrange,
  FR_ORDER,
  commitPolynomial,
  evaluatePolynomial,
  publicShareFromCommitments,
  randomScalar,
  randomWeights,
  secretKeyFromScalar,
  sumCommitments,
  verifyShare,
  verifyShares,
} from "../core/crypto/index.js";
import { G1, G2 } from "../core/crypto/groups.js";
import { multiScalarMul, scalarMul } from "../core/crypto/msm.js";

/** One dealer's polynomials and commitments, by validator (constant term first). */
export interface Dealing {
  readonly polynomials: readonly bigint[][];
  readonly commitments: readonly PublicKey[][];
}

/**
 * Random polynomials of degree threshold-1 with the given constant terms (random ones in a DKG,
 * the dealer's old shares when resharing), and their commitments.
 */
export function deal(constantTerms: readonly bigint[], threshold: number): Dealing {
  const polynomials = constantTerms.map((a0) => [a0, ...Array.from({ length: threshold - 1 }, randomScalar)]);
  return { polynomials, commitments: polynomials.map(commitPolynomial) };
}

/** The shares of share id `id`, one per validator. */
export function sharesFor(dealing: Dealing, id: number): bigint[] {
  const x = BigInt(id);
  return dealing.polynomials.map((f) => evaluatePolynomial(f, x));
}

// ---------------------------------------------------------------------------------------------
// Proof of possession

const POP_TAG = new TextEncoder().encode("nektar/dkg/pop/v1");

/**
 * What dealer `dealer` signs with each of its constant terms: the tag, the ceremony id and the
 * dealer's index. @chainsafe/blst signs only under Ethereum's signature DST, so this is a normal
 * signature of a message that could never be anything else: every Ethereum signing root is 32
 * bytes, this message 51, and it names the ceremony and the dealer.
 *
 * It stops rogue keys: a dealer that picks C_0 = X - Σ(the others' C_0) for an X of its choice
 * does not know its discrete log, so it would have to make a_0·H(m) from the others' proofs,
 * which sign other messages (their own dealer index). One message for all of a dealer's
 * validators lets its proofs be checked together, with one pairing.
 */
export function popMessage(ceremony: Uint8Array, dealer: number): Uint8Array {
  const message = new Uint8Array(POP_TAG.length + 32 + 2);
  message.set(POP_TAG);
  message.set(ceremony, POP_TAG.length);
  new DataView(message.buffer).setUint16(POP_TAG.length + 32, dealer);
  return message;
}

export function provePossession(constantTerms: readonly bigint[], message: Uint8Array): Signature[] {
  return constantTerms.map((a0) => secretKeyFromScalar(a0).sign(message));
}

/** One dealer's keys (its constant terms' commitments C_0) and their proofs, by validator. */
export interface Possession {
  readonly dealer: number;
  readonly message: Uint8Array;
  readonly keys: readonly PublicKey[];
  /** Curve points of G2, not yet group-checked. */
  readonly proofs: readonly Signature[];
}

/**
 * The dealers whose proofs of possession fail. Optimistically one check for all dealers, with
 * random weights w_{i,v}: e(Σ_{i,v} w_{i,v}·σ_{i,v}, G) = Π_i e(H(m_i), Σ_v w_{i,v}·C_{i,v}),
 * one multi-scalar multiplication in G2 and a pairing per dealer, after group-checking the
 * combinations (see the module comment). Only if it fails is each dealer's every proof checked
 * on its own (group checks and a pairing each) to name the culprits.
 *
 * A dealer whose points carry torsion might pass the batched check at one operator and fail
 * another's exact checks; the operators then disagree on the qualified dealers, which the
 * ceremony detects and fails on - as it fails for any faulty operator that will not cooperate.
 */
export function findInvalidPossessions(possessions: readonly Possession[]): number[] {
  if (possessions.length === 0) return [];
  const weights = possessions.map((p) => randomWeights(p.keys.length));
  const keys = possessions.map((p, i) => multiScalarMul(G1, p.keys, weights[i]!));
  const proof = multiScalarMul(
    G2,
    possessions.flatMap((p) => p.proofs),
    weights.flat(),
  );
  if (keys.every(inG1) && inG2(proof) && aggregateVerify(possessions.map((p) => p.message), keys, proof, false, false)) return [];
  return possessions.filter((p) => !p.keys.every((key, v) => inG1(key) && inG2(p.proofs[v]!) && verify(p.message, key, p.proofs[v]!, false, false))).map((p) => p.dealer);
}

// ---------------------------------------------------------------------------------------------
// Receiving

/**
 * Whether shares[v] = f_v(id) for every validator v, f_v committed to by commitments[v]: one
 * batched check (random weights, 2^-64 error). Either one dealer's commitments and shares, or,
 * optimistically, the combined commitments and the summed shares of all dealers (ceremony.ts).
 */
export function sharesMatch(commitments: readonly PublicKey[][], id: number, shares: readonly bigint[]): boolean {
  return verifyShares(commitments.map((c, v) => ({ commitments: c, share: { id, value: shares[v]! } })));
}

/**
 * Whether shares revealed by a dealer (a justification) match its commitments, checked share by
 * share, without random weights: every operator must reach the same verdict.
 */
export function verifyRevealedShares(commitments: readonly PublicKey[][], id: number, shares: readonly bigint[]): boolean {
  return commitments.every((c, v) => {
    const value = shares[v]!;
    return value < FR_ORDER && verifyShare(c, { id, value });
  });
}

// ---------------------------------------------------------------------------------------------
// Combining

/**
 * The commitments to each validator's shared polynomial, from the qualified dealers' commitments
 * (by dealer, then validator): their sum in a DKG, Σ λ_i·C_i when resharing.
 */
export function combine(byDealer: readonly (readonly PublicKey[][])[], lagrange?: FactoredLagrange): PublicKey[][] {
  const validators = byDealer[0]?.length ?? 0;
  return Array.from({ length: validators }, (_, v) => {
    const polynomials = byDealer.map((d) => d[v]!);
    if (lagrange === undefined) return sumCommitments(polynomials);
    const { scale, numerators } = lagrange;
    return polynomials[0]!.map((_, k) =>
      scalarMul(
        G1,
        multiScalarMul(
          G1,
          polynomials.map((c) => c[k]!),
          numerators,
        ),
        scale,
      ),
    );
  });
}

/** Whether a point is in G1 and not the identity (the check every public key needs). */
export function inG1(point: PublicKey): boolean {
  try {
    point.keyValidate();
    return true;
  } catch {
    return false;
  }
}

/** Whether a point is in G2 and not the identity. */
function inG2(point: Signature): boolean {
  try {
    point.sigValidate(true);
    return true;
  } catch {
    return false;
  }
}

/** The public keys of share ids 1..n for one validator's combined commitments. */
export function publicShares(commitments: readonly PublicKey[], n: number): PublicKey[] {
  return Array.from({ length: n }, (_, j) => publicShareFromCommitments(commitments, j + 1));
}
