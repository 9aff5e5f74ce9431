import { describe, expect, it } from "@jest/globals";
import { SecretKey } from "@chainsafe/blst";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { randomBytes } from "node:crypto";
import { NektarError } from "../errors.js";
import { toHex } from "../hex.js";
import {
  CIPHERSUITE,
  InvalidPointError,
  InvalidSecretKeyError,
  parsePublicKey,
  parseSecretKey,
  inSignatureGroup,
  parseSignature,
  parseSignatureOnCurve,
  secretKeyFromScalar,
  verifyInGroup,
} from "./bls.js";
import { FR_ORDER, randomScalar, toBytes32 } from "./fr.js";

const { Fp, Fp2 } = bls12_381.fields;
type Fp2 = { c0: bigint; c1: bigint };

/** Euler's criterion in Fp; in Fp2, a is a square iff its norm a0² + a1² is one in Fp. */
function isSquare(a: bigint): boolean {
  return a === 0n || Fp.pow(a, (Fp.ORDER - 1n) / 2n) === 1n;
}

function isSquare2(a: Fp2): boolean {
  return isSquare(Fp.add(Fp.sqr(a.c0), Fp.sqr(a.c1)));
}

/** y² = x³ + 4 on G1's curve, x³ + 4(1+i) on G2's. */
function curveRhs1(x: bigint): bigint {
  return Fp.add(Fp.pow(x, 3n), 4n);
}

function curveRhs2(x: Fp2): Fp2 {
  return Fp2.add(Fp2.pow(x, 3n), Fp2.create({ c0: 4n, c1: 4n }));
}

/** The compressed encoding of a point on the curve but outside the r-order subgroup. */
function offSubgroup(g: "G1" | "G2"): Uint8Array {
  // Points of E(Fp) are in G1 with probability 1/h (h ~ 2^125), likewise on G2's curve.
  for (let x = 1n; ; x++) {
    if (g === "G1" && isSquare(curveRhs1(x))) return flagCompressed(fpBytes(x));
    if (g === "G2" && isSquare2(curveRhs2({ c0: x, c1: 1n }))) {
      return flagCompressed(new Uint8Array([...fpBytes(1n), ...fpBytes(x)]));
    }
  }
}

function fpBytes(x: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(x.toString(16).padStart(96, "0"), "hex"));
}

function flagCompressed(bytes: Uint8Array): Uint8Array {
  bytes[0]! |= 0x80;
  return bytes;
}

/** Compressed bytes whose x has no point on the curve. */
function offCurve(g: "G1" | "G2"): Uint8Array {
  for (let x = 1n; ; x++) {
    if (g === "G1" && !isSquare(curveRhs1(x))) return flagCompressed(fpBytes(x));
    if (g === "G2" && !isSquare2(curveRhs2({ c0: x, c1: 1n }))) {
      return flagCompressed(new Uint8Array([...fpBytes(1n), ...fpBytes(x)]));
    }
  }
}

function infinity(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  bytes[0] = 0xc0;
  return bytes;
}

function expectInvalidPoint(fn: () => unknown, input: string, reason: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidPointError);
    expect(err).toBeInstanceOf(NektarError);
    expect((err as InvalidPointError).input).toBe(input);
    expect((err as Error).message).toMatch(reason);
    expect((err as Error).message.startsWith(`${input}: `)).toBe(true);
    return;
  }
  throw new Error("expected an InvalidPointError");
}

describe("ciphersuite", () => {
  it("is the one blst signs with, checked against noble", () => {
    const scalar = randomScalar();
    const message = randomBytes(32);
    const blst = secretKeyFromScalar(scalar).sign(message);
    const noble = bls12_381.longSignatures;
    const ethereum = noble.sign(noble.hash(message, CIPHERSUITE), toBytes32(scalar));
    expect(blst.toHex()).toBe("0x" + ethereum.toHex());
    const otherSuite = noble.sign(noble.hash(message, "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"), toBytes32(scalar));
    expect(blst.toHex()).not.toBe("0x" + otherSuite.toHex());
  });
});

describe("parsePublicKey", () => {
  const what = "cluster-lock.json operators[2].public_key";

  it("accepts a compressed public key", () => {
    const pk = SecretKey.fromBytes(toBytes32(randomScalar())).toPublicKey();
    expect(parsePublicKey(pk.toBytes(), what).toHex()).toBe(pk.toHex());
  });

  it("rejects wrong lengths, the identity, points off the curve and outside the subgroup", () => {
    const pk = SecretKey.fromBytes(toBytes32(randomScalar())).toPublicKey();
    expectInvalidPoint(() => parsePublicKey(pk.toBytes(false), what), what, /expected a 48-byte/);
    expectInvalidPoint(() => parsePublicKey(new Uint8Array(47), what), what, /got 47 bytes/);
    expectInvalidPoint(() => parsePublicKey(infinity(48), what), what, /infinity/);
    expectInvalidPoint(() => parsePublicKey(offCurve("G1"), what), what, /not on the curve/);
    expectInvalidPoint(() => parsePublicKey(offSubgroup("G1"), what), what, /not in the prime-order subgroup/);
    expectInvalidPoint(() => parsePublicKey(new Uint8Array(48), what), what, /bad encoding/);
  });
});

describe("parseSignature", () => {
  const what = "partial signature of share 3";

  it("accepts a compressed signature", () => {
    const sig = SecretKey.fromBytes(toBytes32(randomScalar())).sign(randomBytes(32));
    expect(parseSignature(sig.toBytes(), what).toHex()).toBe(sig.toHex());
  });

  it("rejects wrong lengths, the identity, points off the curve and outside the subgroup", () => {
    expectInvalidPoint(() => parseSignature(new Uint8Array(95), what), what, /expected a 96-byte/);
    expectInvalidPoint(() => parseSignature(infinity(96), what), what, /infinity/);
    expectInvalidPoint(() => parseSignature(offCurve("G2"), what), what, /not on the curve/);
    expectInvalidPoint(() => parseSignature(offSubgroup("G2"), what), what, /not in the prime-order subgroup/);
    expectInvalidPoint(() => parseSignature(randomBytes(96), what), what, /not a valid BLS signature/);
    expectInvalidPoint(() => parseSignature("0x00" as unknown as Uint8Array, what), what, /expected the bytes/);
  });
});

describe("parseSignatureOnCurve, inSignatureGroup, verifyInGroup", () => {
  const what = "partial of share 2";

  it("accepts a point of the curve outside G2, which inSignatureGroup and verifyInGroup then refuse", () => {
    const outside = parseSignatureOnCurve(offSubgroup("G2"), what);
    expect(inSignatureGroup(outside)).toBe(false);
    expect(verifyInGroup(randomBytes(32), SecretKey.fromBytes(toBytes32(randomScalar())).toPublicKey(), outside)).toBe(false);
  });

  it("accepts a signature, in the group, that verifies", () => {
    const key = SecretKey.fromBytes(toBytes32(randomScalar()));
    const message = randomBytes(32);
    const sig = parseSignatureOnCurve(key.sign(message).toBytes(), what);
    expect(inSignatureGroup(sig)).toBe(true);
    expect(verifyInGroup(message, key.toPublicKey(), sig)).toBe(true);
    expect(verifyInGroup(randomBytes(32), key.toPublicKey(), sig)).toBe(false);
  });

  it("rejects wrong lengths and points off the curve, naming the input", () => {
    expectInvalidPoint(() => parseSignatureOnCurve(new Uint8Array(95), what), what, /expected a 96-byte/);
    expectInvalidPoint(() => parseSignatureOnCurve(offCurve("G2"), what), what, /not on the curve|bad encoding/);
  });
});

describe("parseSecretKey", () => {
  const what = "keystore share-4.json";

  it("accepts a scalar in [1, r)", () => {
    const bytes = toBytes32(randomScalar());
    expect(toHex(parseSecretKey(bytes, what).toBytes())).toBe(toHex(bytes));
    expect(toHex(parseSecretKey(toBytes32(FR_ORDER - 1n), what).toBytes())).toBe(toHex(toBytes32(FR_ORDER - 1n)));
  });

  it("rejects zero, r and above, and wrong lengths, naming the input", () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(32), /is zero/],
      [toBytes32(FR_ORDER), /not below the group order/],
      [new Uint8Array(32).fill(0xff), /not below the group order/],
      [new Uint8Array(31), /got 31 bytes/],
    ];
    for (const [bytes, reason] of cases) {
      expect(() => parseSecretKey(bytes, what)).toThrow(InvalidSecretKeyError);
      expect(() => parseSecretKey(bytes, what)).toThrow(new RegExp(`^${what}: .*${reason.source}`));
    }
  });
});
