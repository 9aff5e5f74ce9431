import { describe, expect, it } from "@jest/globals";
import { randomInt } from "node:crypto";
import { NektarError } from "../errors.js";
import { FR_ORDER, add, mod, mul, randomScalar } from "./fr.js";
import {
  MAX_SHARES,
  type Share,
  evaluatePolynomial,
  lagrangeAtZero,
  lagrangeAtZeroFactored,
  recoverSecret,
  splitSecret,
  validateThreshold,
} from "./shamir.js";

/** t distinct items of `items`, in random order. */
function randomSubset<T>(items: readonly T[], t: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, t);
}

function* subsets(n: number, t: number, from = 1): Generator<number[]> {
  if (t === 0) return yield [];
  for (let first = from; first <= n - t + 1; first++) {
    for (const rest of subsets(n, t - 1, first + 1)) yield [first, ...rest];
  }
}

const SIZES: [number, number][] = [
  [4, 3],
  [7, 5],
  [16, 11],
];

describe("validateThreshold", () => {
  it("accepts 1 <= t <= n <= MAX_SHARES", () => {
    for (const [n, t] of [[1, 1], [16, 11], [MAX_SHARES, MAX_SHARES]]) expect(() => validateThreshold(n!, t!)).not.toThrow();
  });

  it("rejects the rest with the offending number in the message", () => {
    expect(() => validateThreshold(16, 0)).toThrow(/threshold 0: must be an integer from 1 to the share count 16/);
    expect(() => validateThreshold(16, 17)).toThrow(/threshold 17/);
    expect(() => validateThreshold(16, 10.5)).toThrow(/threshold 10.5/);
    expect(() => validateThreshold(0, 1)).toThrow(/share count 0/);
    expect(() => validateThreshold(MAX_SHARES + 1, 3)).toThrow(NektarError);
  });
});

describe("split and recover", () => {
  it.each(SIZES)("recovers the secret of a (%i, %i) sharing from any t shares", (n, t) => {
    const secret = randomScalar();
    const { shares, coefficients } = splitSecret(secret, n, t);
    expect(shares.map((s) => s.id)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(coefficients).toHaveLength(t);
    expect(coefficients[0]).toBe(secret);
    for (let trial = 0; trial < 5; trial++) {
      expect(recoverSecret(randomSubset(shares, t), t)).toBe(secret);
    }
  });

  it("needs t shares: fewer are refused, and interpolating them gives a different value", () => {
    const secret = randomScalar();
    const { shares } = splitSecret(secret, 16, 11);
    const tooFew = randomSubset(shares, 10);
    expect(() => recoverSecret(tooFew, 11)).toThrow(/shares: 10 given, the threshold is 11/);
    const lambdas = lagrangeAtZero(tooFew.map((s) => s.id));
    const guess = tooFew.reduce((acc, s, i) => add(acc, mul(lambdas[i]!, s.value)), 0n);
    expect(guess).not.toBe(secret);
  });

  it("rejects duplicate and out-of-range ids", () => {
    const { shares } = splitSecret(randomScalar(), 5, 3);
    const duplicated: Share[] = [shares[0]!, shares[1]!, shares[0]!];
    expect(() => recoverSecret(duplicated, 3)).toThrow(/shares: share id 1 appears twice/);
    expect(() => recoverSecret([{ id: 0, value: 1n }, ...shares], 3)).toThrow(/share id 0 is not an integer from 1/);
    expect(() => lagrangeAtZero([2, 3, 2])).toThrow(NektarError);
  });

  it("rejects a secret outside [1, r)", () => {
    expect(() => splitSecret(0n, 4, 3)).toThrow(RangeError);
    expect(() => splitSecret(FR_ORDER, 4, 3)).toThrow(RangeError);
  });
});

describe("Lagrange coefficients at 0", () => {
  it("interpolate f(0) from any t points of a random degree t-1 polynomial", () => {
    for (const [n, t] of SIZES) {
      const coefficients = Array.from({ length: t }, randomScalar);
      const ids = randomSubset(
        Array.from({ length: n }, (_, i) => i + 1),
        t,
      );
      const lambdas = lagrangeAtZero(ids);
      const interpolated = ids.reduce(
        (acc, id, i) => add(acc, mul(lambdas[i]!, evaluatePolynomial(coefficients, BigInt(id)))),
        0n,
      );
      expect(interpolated).toBe(coefficients[0]);
    }
  });

  it("factor into small numerators and one scale for every 11 of 16 ids", () => {
    let widest = 0;
    let checked = 0;
    for (const ids of subsets(16, 11)) {
      const { scale, numerators } = lagrangeAtZeroFactored(ids);
      widest = Math.max(widest, ...numerators.map((x) => (x < 0n ? -x : x).toString(2).length));
      // comparing with the direct coefficients costs inversions: a sample of the 4368 subsets
      if (checked++ % 37 === 0) expect(numerators.map((x) => mul(scale, mod(x)))).toEqual(lagrangeAtZero(ids));
    }
    expect(checked).toBe(4368);
    expect(widest).toBeLessThanOrEqual(23);
  });

  it("are integers for consecutive ids, and 1 for a single id", () => {
    expect(lagrangeAtZeroFactored([1, 2, 3])).toEqual({ scale: 1n, numerators: [3n, -3n, 1n] });
    expect(lagrangeAtZero([1, 2, 3])).toEqual([3n, FR_ORDER - 3n, 1n]);
    expect(lagrangeAtZeroFactored([5])).toEqual({ scale: 1n, numerators: [1n] });
  });
});
