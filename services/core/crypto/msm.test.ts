// msm.ts and groups.ts against @noble/curves, an independent (pure JS) implementation of the
// same groups: every scalar·point computed from blst additions must equal noble's multiply.
import { describe, expect, it } from "@jest/globals";
import { type PublicKey, SecretKey, type Signature } from "@chainsafe/blst";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { randomBytes } from "node:crypto";
import { FR_ORDER, fromBytesBE, mod, randomScalar, toBytes32 } from "./fr.js";
import { G1, G2 } from "./groups.js";
import { multiScalarMul, scalarMul } from "./msm.js";

const { G1: NobleG1, G2: NobleG2 } = bls12_381;
type NoblePoint = InstanceType<typeof NobleG1.Point> | InstanceType<typeof NobleG2.Point>;

function randomG1(): PublicKey {
  return SecretKey.fromBytes(toBytes32(randomScalar())).toPublicKey();
}

function randomG2(): Signature {
  return SecretKey.fromBytes(toBytes32(randomScalar())).sign(randomBytes(32));
}

const noble = {
  g1: (p: PublicKey) => NobleG1.Point.fromBytes(p.toBytes()),
  g2: (s: Signature) => NobleG2.Point.fromBytes(s.toBytes()),
};

/** Σ k_i·P_i in noble. */
function nobleSum<T extends NoblePoint>(points: T[], scalars: bigint[], zero: T): string {
  let acc = zero;
  for (const [i, p] of points.entries()) {
    const k = mod(scalars[i]!);
    if (k !== 0n) acc = acc.add(p.multiply(k) as never) as T;
  }
  return "0x" + acc.toHex();
}

function randomBits(bits: number): bigint {
  return fromBytesBE(randomBytes(Math.ceil(bits / 8))) >> BigInt(8 * Math.ceil(bits / 8) - bits);
}

describe("groups", () => {
  it("negates points on both groups", () => {
    const p = randomG1();
    const s = randomG2();
    expect(G1.negate(p).toHex()).toBe("0x" + noble.g1(p).negate().toHex());
    expect(G2.negate(s).toHex()).toBe("0x" + noble.g2(s).negate().toHex());
    expect(G1.equals(G1.negate(G1.identity), G1.identity)).toBe(true);
  });

  it("computes B^i·P with the endomorphism", () => {
    const p = randomG1();
    const powersG1 = G1.basePowers(p);
    expect(powersG1).toHaveLength(2);
    expect(powersG1[1]!.toHex()).toBe("0x" + noble.g1(p).multiply(G1.base).toHex());
    expect(G1.base ** 2n > FR_ORDER).toBe(true);

    const s = randomG2();
    const powersG2 = G2.basePowers(s);
    expect(powersG2).toHaveLength(4);
    for (const [i, q] of powersG2.entries()) {
      expect(q.toHex()).toBe("0x" + noble.g2(s).multiply(G2.base ** BigInt(i) % FR_ORDER).toHex());
    }
    expect(G2.base ** 4n > FR_ORDER).toBe(true);
  });

  it("sums and compares points", () => {
    const p = randomG1();
    expect(G1.equals(G1.sum([p, p]), scalarMul(G1, p, 2n))).toBe(true);
    expect(G1.equals(G1.sum([p, G1.negate(p)]), G1.identity)).toBe(true);
    expect(G1.equals(p, randomG1())).toBe(false);
  });
});

describe("scalarMul", () => {
  it("matches noble for random scalars on G1", () => {
    for (let i = 0; i < 6; i++) {
      const p = randomG1();
      const k = randomScalar();
      expect(scalarMul(G1, p, k).toHex()).toBe("0x" + noble.g1(p).multiply(k).toHex());
    }
  });

  it("matches noble for random scalars on G2", () => {
    for (let i = 0; i < 3; i++) {
      const s = randomG2();
      const k = randomScalar();
      expect(scalarMul(G2, s, k).toHex()).toBe("0x" + noble.g2(s).multiply(k).toHex());
    }
  });

  it("handles the edge scalars 0, 1, r-1, r and negatives", () => {
    const s = randomG2();
    const n = noble.g2(s);
    expect(G2.equals(scalarMul(G2, s, 0n), G2.identity)).toBe(true);
    expect(G2.equals(scalarMul(G2, s, FR_ORDER), G2.identity)).toBe(true);
    expect(scalarMul(G2, s, 1n).toHex()).toBe(s.toHex());
    expect(scalarMul(G2, s, FR_ORDER - 1n).toHex()).toBe("0x" + n.negate().toHex());
    expect(scalarMul(G2, s, -5n).toHex()).toBe("0x" + n.multiply(5n).negate().toHex());
    expect(G2.equals(scalarMul(G2, G2.identity, randomScalar()), G2.identity)).toBe(true);
  });
});

describe("multiScalarMul", () => {
  it("matches noble for a few points with signed scalars (Straus)", () => {
    const points = Array.from({ length: 11 }, randomG2);
    const scalars = points.map((_, i) => (i % 3 === 0 ? -1n : 1n) * randomBits(5 + 2 * i));
    scalars[4] = 0n;
    expect(multiScalarMul(G2, points, scalars).toHex()).toBe(
      nobleSum(points.map(noble.g2), scalars, NobleG2.Point.ZERO),
    );
  });

  it("matches noble for many points with 64-bit scalars (buckets)", () => {
    const points = Array.from({ length: 300 }, randomG1);
    const scalars = points.map(() => randomBits(64));
    // repeated points and mixed lengths exercise buckets that hold one point or the same point twice
    points[7] = points[3]!;
    scalars[9] = 1n;
    scalars[10] = randomBits(100);
    expect(multiScalarMul(G1, points, scalars).toHex()).toBe(
      nobleSum(points.map(noble.g1), scalars, NobleG1.Point.ZERO),
    );
  });

  it("returns the identity when the terms cancel or there are none", () => {
    const p = randomG1();
    expect(G1.equals(multiScalarMul(G1, [p, p], [7n, -7n]), G1.identity)).toBe(true);
    expect(G1.equals(multiScalarMul(G1, [], []), G1.identity)).toBe(true);
    expect(() => multiScalarMul(G1, [p], [])).toThrow(RangeError);
  });
});
