import { describe, expect, it } from "@jest/globals";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { FR_ORDER, add, randomScalar } from "./fr.js";
import {
  type ShareCheck,
  commitPolynomial,
  findInvalidShares,
  publicShareFromCommitments,
  sumCommitments,
  verifyShare,
  verifyShares,
} from "./feldman.js";
import { type Share, splitSecret } from "./shamir.js";
import { publicShare } from "./threshold.js";

function dealer(n: number, t: number) {
  const secret = randomScalar();
  const { shares, coefficients } = splitSecret(secret, n, t);
  return { secret, shares, commitments: commitPolynomial(coefficients) };
}

function tamper(share: Share): Share {
  return { id: share.id, value: add(share.value, 1n) };
}

describe("Feldman commitments", () => {
  it("commit to the secret's public key and give every share's public key", () => {
    const { secret, shares, commitments } = dealer(16, 11);
    expect(commitments).toHaveLength(11);
    expect(commitments[0]!.toHex()).toBe(publicShare({ id: 1, value: secret }).publicKey.toHex());
    for (const share of [shares[0]!, shares[12]!, shares[15]!]) {
      expect(publicShareFromCommitments(commitments, share.id).toHex()).toBe(publicShare(share).publicKey.toHex());
    }
  });

  it("add up to the commitments of the summed polynomial (joint Feldman)", () => {
    const dealers = Array.from({ length: 3 }, () => splitSecret(randomScalar(), 7, 5));
    const summed = dealers[0]!.coefficients.map((_, k) => dealers.reduce((acc, d) => add(acc, d.coefficients[k]!), 0n));
    const joint = sumCommitments(dealers.map((d) => commitPolynomial(d.coefficients)));
    expect(joint.map((c) => c.toHex())).toEqual(commitPolynomial(summed).map((c) => c.toHex()));
    const share: Share = { id: 4, value: dealers.reduce((acc, d) => add(acc, d.shares[3]!.value), 0n) };
    expect(verifyShare(joint, share)).toBe(true);
    expect(() => sumCommitments([joint, joint.slice(1)])).toThrow(RangeError);
  });

  it("evaluate like noble's Σ j^k·C_k", () => {
    const { commitments } = dealer(7, 5);
    const j = 6n;
    let expected = bls12_381.G1.Point.ZERO;
    for (const [k, c] of commitments.entries()) {
      expected = expected.add(bls12_381.G1.Point.fromBytes(c.toBytes()).multiply(j ** BigInt(k)));
    }
    expect(publicShareFromCommitments(commitments, 6).toHex()).toBe("0x" + expected.toHex());
  });
});

describe("verifyShare", () => {
  it("accepts every share of the committed polynomial", () => {
    const { shares, commitments } = dealer(16, 11);
    for (const share of shares) expect(verifyShare(commitments, share)).toBe(true);
  });

  it("rejects a wrong value, a wrong id, a non-canonical value and another dealer's commitments", () => {
    const { shares, commitments } = dealer(7, 5);
    const share = shares[3]!;
    expect(verifyShare(commitments, tamper(share))).toBe(false);
    expect(verifyShare(commitments, { id: 5, value: share.value })).toBe(false);
    expect(verifyShare(commitments, { id: share.id, value: share.value + FR_ORDER })).toBe(false);
    expect(verifyShare(dealer(7, 5).commitments, share)).toBe(false);
  });
});

describe("batched share verification", () => {
  it("accepts one dealer's 16 shares and pinpoints a bad one", () => {
    const { shares, commitments } = dealer(16, 11);
    const checks: ShareCheck[] = shares.map((share) => ({ commitments, share }));
    expect(verifyShares(checks)).toBe(true);
    expect(findInvalidShares(checks)).toEqual([]);
    checks[6] = { commitments, share: tamper(shares[6]!) };
    expect(verifyShares(checks)).toBe(false);
    expect(findInvalidShares(checks)).toEqual([6]);
  });

  it("accepts one receiver's shares from many dealers and validators, and pinpoints bad ones", () => {
    const receiver = 13;
    const checks: ShareCheck[] = Array.from({ length: 4 * 5 }, () => {
      const { shares, commitments } = dealer(16, 11);
      return { commitments, share: shares[receiver - 1]! };
    });
    expect(verifyShares(checks)).toBe(true);
    const bad = [3, 17];
    for (const i of bad) checks[i] = { commitments: checks[i]!.commitments, share: tamper(checks[i]!.share) };
    expect(verifyShares(checks)).toBe(false);
    expect(findInvalidShares(checks)).toEqual(bad);
  });

  it("handles shares of one polynomial passed with distinct but equal commitment arrays", () => {
    const { shares, commitments } = dealer(4, 3);
    const checks = shares.map((share) => ({ commitments: [...commitments], share }));
    expect(verifyShares(checks)).toBe(true);
    checks[0] = { commitments: [...commitments], share: { id: 2, value: shares[0]!.value } };
    expect(verifyShares(checks)).toBe(false);
    expect(findInvalidShares(checks)).toEqual([0]);
  });

  it("rejects and pinpoints a non-canonical share value", () => {
    const { shares, commitments } = dealer(4, 3);
    const checks = shares.map((share) => ({ commitments, share }));
    checks[2] = { commitments, share: { id: 3, value: shares[2]!.value + FR_ORDER } };
    expect(verifyShares(checks)).toBe(false);
    expect(findInvalidShares(checks)).toEqual([2]);
  });

  it("accepts an empty batch", () => {
    expect(verifyShares([])).toBe(true);
    expect(findInvalidShares([])).toEqual([]);
  });
});
