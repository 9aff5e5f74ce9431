/**
 * Scalar multiplication out of blst's one group operation, "sum this list of points".
 *
 * What it costs (groups.ts): each native call carries a fixed price of a few additions (the
 * conversion of the result to affine, the N-API crossing), and inside a call every point costs
 * one addition. So the algorithm minimizes additions + callCost·calls, which is Straus' shared
 * doubling with Pippenger's buckets: scalars are cut into c-bit windows; per window each point
 * goes to the bucket of its digit; then, from the top bit down, one call per bit computes
 * acc ← acc + acc + Σ (buckets whose digit has this bit set). A bucket used by several bits
 * (its digit has several bits set) is summed once first. With c = 1 there are no buckets to sum
 * and this is plain Straus, the best choice for a few points; many points want larger c.
 */
import { mod } from "./fr.js";
import type { Group } from "./groups.js";

/**
 * Σ k_i·P_i for integer scalars of any sign and size. They are used as given, not reduced mod r:
 * short scalars (random 64-bit weights, Lagrange numerators) are what make this cheap.
 */
export function multiScalarMul<P>(group: Group<P>, points: readonly P[], scalars: readonly bigint[]): P {
  if (points.length !== scalars.length) {
    throw new RangeError(`multiScalarMul: ${points.length} points but ${scalars.length} scalars`);
  }
  const terms: P[] = [];
  const magnitudes: bigint[] = [];
  for (const [i, k] of scalars.entries()) {
    if (k === 0n) continue;
    terms.push(k < 0n ? group.negate(points[i]!) : points[i]!);
    magnitudes.push(k < 0n ? -k : k);
  }
  if (terms.length === 0) return group.identity;

  const bits = Math.max(...magnitudes.map(bitLength));
  const c = chooseWindow(terms.length, bits, group.callCost);
  const digits = new Digits(magnitudes, bits);
  let acc: P | undefined;
  for (let w = Math.ceil(bits / c) - 1; w >= 0; w--) {
    const buckets = new Map<number, P[]>();
    for (const [i, point] of terms.entries()) {
      const d = digits.at(i, w * c, c);
      if (d === 0) continue;
      const bucket = buckets.get(d);
      if (bucket === undefined) buckets.set(d, [point]);
      else bucket.push(point);
    }
    for (const [d, bucket] of buckets) {
      if (bucket.length > 1 && popcount(d) > 1) buckets.set(d, [group.sum(bucket)]);
    }
    for (let bit = c - 1; bit >= 0; bit--) {
      const step: P[] = acc === undefined ? [] : [acc, acc];
      for (const [d, bucket] of buckets) {
        if ((d >> bit) & 1) step.push(...bucket);
      }
      if (step.length > 0) acc = step.length === 1 ? step[0] : group.sum(step);
    }
  }
  return acc ?? group.identity;
}

/** k·P for any scalar k, through the endomorphism: k mod r = Σ d_i·B^i with digits d_i < B. */
export function scalarMul<P>(group: Group<P>, point: P, k: bigint): P {
  const digits: bigint[] = [];
  for (let rest = mod(k); rest > 0n; rest /= group.base) digits.push(rest % group.base);
  if (digits.length <= 1) return multiScalarMul(group, [point], [digits[0] ?? 0n]);
  return multiScalarMul(group, group.basePowers(point).slice(0, digits.length), digits);
}

/**
 * The window c with the least expected cost for n points with uniform `bits`-bit scalars, per
 * window: every point with a nonzero digit costs one addition; a digit with several bits set
 * costs one more addition per extra bit if its bucket is nonempty, and a call to sum the bucket
 * if it holds several points; each of the c bits costs a doubling and a call.
 */
function chooseWindow(n: number, bits: number, callCost: number): number {
  let best = 1;
  let bestCost = Infinity;
  // With more buckets than points, buckets hold one point each and summing them first saves nothing.
  const widest = Math.min(bits, 16, Math.max(1, Math.ceil(Math.log2(n))));
  for (let c = 1; c <= widest; c++) {
    const buckets = 2 ** c;
    const pEmpty = (1 - 1 / buckets) ** n;
    const pSingle = (n / buckets) * (1 - 1 / buckets) ** (n - 1);
    const multiBitDigits = buckets - 1 - c;
    const extraBits = (c * buckets) / 2 - (buckets - 1);
    const additions = n * (1 - 1 / buckets) + (1 - pEmpty) * extraBits + c;
    const calls = c + (1 - pEmpty - pSingle) * multiBitDigits;
    const cost = Math.ceil(bits / c) * (additions + callCost * calls);
    if (cost < bestCost) [best, bestCost] = [c, cost];
  }
  return best;
}

/** Scalars as little-endian 32-bit words, so digits come out with number arithmetic. */
class Digits {
  private readonly words: Uint32Array;
  private readonly stride: number;

  constructor(scalars: readonly bigint[], bits: number) {
    this.stride = Math.ceil(bits / 32) + 1; // one spare word: a digit may straddle the top
    this.words = new Uint32Array(scalars.length * this.stride);
    for (const [i, k] of scalars.entries()) {
      let rest = k;
      for (let j = 0; rest > 0n; j++, rest >>= 32n) this.words[i * this.stride + j] = Number(rest & 0xffffffffn);
    }
  }

  /** Bits [offset, offset + c) of scalar i, c <= 16. */
  at(i: number, offset: number, c: number): number {
    const index = i * this.stride + (offset >>> 5);
    const shift = offset & 31;
    const low = this.words[index]! >>> shift;
    const high = shift + c > 32 ? this.words[index + 1]! << (32 - shift) : 0;
    return (low | high) & ((1 << c) - 1);
  }
}

function bitLength(k: bigint): number {
  return k.toString(2).length;
}

function popcount(x: number): number {
  let count = 0;
  for (let v = x; v !== 0; v &= v - 1) count++;
  return count;
}
