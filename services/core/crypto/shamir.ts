/**
 * Shamir secret sharing over Fr: a secret s becomes the constant term of a random polynomial f of
 * degree t-1, share i is (i, f(i)) for ids 1..n, and any t shares give back f(0) = s by Lagrange
 * interpolation at 0, while t-1 shares say nothing about it.
 */
import { NektarError } from "../errors.js";
import { FR_ORDER, add, inv, mul, randomScalar } from "./fr.js";

/**
 * Share ids run 1..n with n at most this. A cluster is a few dozen operators at most; the bound
 * keeps the small-integer Lagrange numerators (and so threshold recovery) cheap.
 */
export const MAX_SHARES = 64;

export interface Share {
  /** 1-based: f(id) is the share, f(0) the secret. */
  readonly id: number;
  readonly value: bigint;
}

/** Checks a threshold t of n shares: 1 <= t <= n <= MAX_SHARES. */
export function validateThreshold(n: number, t: number): void {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SHARES) {
    throw new NektarError(`share count ${n}: must be an integer from 1 to ${MAX_SHARES}`);
  }
  if (!Number.isSafeInteger(t) || t < 1 || t > n) {
    throw new NektarError(`threshold ${t}: must be an integer from 1 to the share count ${n}`);
  }
}

/**
 * Checks a set of share ids: integers in 1..MAX_SHARES, no repeats. `what` names the set in the
 * error, e.g. "partial signatures".
 */
export function validateIds(ids: readonly number[], what: string): void {
  const seen = new Set<number>();
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id < 1 || id > MAX_SHARES) {
      throw new NektarError(`${what}: share id ${id} is not an integer from 1 to ${MAX_SHARES}`);
    }
    if (seen.has(id)) throw new NektarError(`${what}: share id ${id} appears twice`);
    seen.add(id);
  }
}

/**
 * The first `threshold` of `items`, after checking their ids and that there are enough of them:
 * any t consistent shares determine the polynomial, so the rest add nothing.
 */
export function thresholdSubset<T extends { readonly id: number }>(
  items: readonly T[],
  threshold: number,
  what: string,
): T[] {
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > MAX_SHARES) {
    throw new NektarError(`threshold ${threshold}: must be an integer from 1 to ${MAX_SHARES}`);
  }
  validateIds(
    items.map((item) => item.id),
    what,
  );
  if (items.length < threshold) {
    throw new NektarError(`${what}: ${items.length} given, the threshold is ${threshold}`);
  }
  return items.slice(0, threshold);
}

/** f(x) for f given by its coefficients, constant term first (Horner). */
export function evaluatePolynomial(coefficients: readonly bigint[], x: bigint): bigint {
  let y = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) y = add(mul(y, x), coefficients[k]!);
  return y;
}

/**
 * Splits `secret` (in [1, r)) into n shares, any t of which recover it. Returns the polynomial's
 * coefficients too (secret first): the dealer commits to them (feldman.ts), then discards them.
 */
export function splitSecret(secret: bigint, n: number, t: number): { shares: Share[]; coefficients: bigint[] } {
  validateThreshold(n, t);
  if (secret <= 0n || secret >= FR_ORDER) throw new RangeError("secret must be in [1, r)");
  const coefficients = [secret, ...Array.from({ length: t - 1 }, randomScalar)];
  const shares = Array.from({ length: n }, (_, i) => ({ id: i + 1, value: evaluatePolynomial(coefficients, BigInt(i + 1)) }));
  return { shares, coefficients };
}

/** The secret from `threshold` shares (the first t are used; see thresholdSubset). */
export function recoverSecret(shares: readonly Share[], threshold: number): bigint {
  const chosen = thresholdSubset(shares, threshold, "shares");
  const lambdas = lagrangeAtZero(chosen.map((s) => s.id));
  return chosen.reduce((secret, share, i) => add(secret, mul(lambdas[i]!, share.value)), 0n);
}

/** λ_i = Π_{j≠i} j / (j - i) mod r: f(0) = Σ λ_i·f(i) for any f of degree < ids.length. */
export function lagrangeAtZero(ids: readonly number[]): bigint[] {
  validateIds(ids, "Lagrange interpolation");
  return ids.map((i) => {
    let numerator = 1n;
    let denominator = 1n;
    for (const j of ids) {
      if (j === i) continue;
      numerator = mul(numerator, BigInt(j));
      denominator = mul(denominator, BigInt(j - i));
    }
    return mul(numerator, inv(denominator));
  });
}

/** Lagrange coefficients as λ_i ≡ scale·numerators[i] (mod r), with small signed numerators. */
export interface FactoredLagrange {
  readonly scale: bigint;
  readonly numerators: bigint[];
}

/**
 * The Lagrange coefficients at 0 factored into one scalar and small integers: each λ_i is the
 * rational Π j / Π (j - i); over their common denominator, with common factors removed, the
 * numerators are tiny (at most 23 bits for any 11 of ids 1..16). Σ λ_i·P_i then costs a
 * multiplication by small integers plus a single full-size one, which is what makes threshold
 * recovery cheap with blst's additions alone.
 */
export function lagrangeAtZeroFactored(ids: readonly number[]): FactoredLagrange {
  validateIds(ids, "Lagrange interpolation");
  const fractions = ids.map((i) => {
    let numerator = 1n;
    let denominator = 1n;
    for (const j of ids) {
      if (j === i) continue;
      numerator *= BigInt(j);
      denominator *= BigInt(j - i);
    }
    const g = gcd(numerator, denominator);
    return { numerator: numerator / g, denominator: denominator / g };
  });
  const common = fractions.reduce((l, f) => lcm(l, abs(f.denominator)), 1n);
  const scaled = fractions.map((f) => f.numerator * (common / f.denominator));
  const g = scaled.reduce(gcd, 0n);
  return { scale: mul(g, inv(common)), numerators: scaled.map((x) => x / g) };
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [abs(a), abs(b)];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

function lcm(a: bigint, b: bigint): bigint {
  return (a / gcd(a, b)) * b;
}
