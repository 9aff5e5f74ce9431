/**
 * G1 and G2 of BLS12-381 as blst exposes them: immutable affine points (PublicKey, Signature) and
 * one group operation, summing a list (aggregatePublicKeys / aggregateSignatures). blst has no
 * scalar multiplication; msm.ts builds it from sums, and needs from this module two more maps that
 * are cheap on the coordinates: negation and an endomorphism.
 *
 * The endomorphisms: on G2, ψ (untwist-Frobenius-twist) acts as multiplication by the curve
 * parameter u = -0xd201000000010000; on G1, φ(x, y) = (βx, y) with β a cube root of unity acts as
 * multiplication by -u². Either way the map is "multiply by -B" for a base B (|u| on G2, u² on G1)
 * with r < B^m (m = 4 on G2, 2 on G1), so any scalar k mod r splits into m digits below B and
 * k·P = Σ d_i·(B^i·P) costs a multiplication by 64-bit (G2) or 128-bit (G1) scalars.
 *
 * Every point handled here was group-checked on the way in (bls.ts) or computed from such
 * points, so the sums skip blst's checks.
 */
import { PublicKey, Signature, aggregatePublicKeys, aggregateSignatures } from "@chainsafe/blst";
import { bls12_381 } from "@noble/curves/bls12-381.js";

const { Fp, Fp2 } = bls12_381.fields;
type Fp2 = { c0: bigint; c1: bigint };

export interface Group<P> {
  readonly name: "G1" | "G2";
  /** The point at infinity. */
  readonly identity: P;
  /** The endomorphism base B (see the module comment). */
  readonly base: bigint;
  /**
   * What one native call costs beyond its additions, in additions (measured on x86-64: the
   * affine conversion at the end of every sum, and the N-API crossing). msm.ts picks its
   * window from it.
   */
  readonly callCost: number;
  /** The sum of a non-empty list, in one native call. */
  sum(points: P[]): P;
  negate(point: P): P;
  /** [P, B·P, ..., B^(m-1)·P], computed with the endomorphism. */
  basePowers(point: P): P[];
  equals(a: P, b: P): boolean;
}

/** |u|, the absolute value of the BLS12-381 curve parameter u = -0xd201000000010000. */
const U_ABS = 0xd201000000010000n;
const FP_BYTES = 48;
/** The zcash serialization's infinity flag (first byte; 0x80 is "compressed", 0x20 the sign of y). */
const FLAG_INFINITY = 0x40;

/** The primitive cube root of unity for which φ(x, y) = (βx, y) is multiplication by -u² on G1. */
const BETA = Fp.pow(2n, (Fp.ORDER - 1n) / 3n);
/** ψ(x, y) = (x̄·PSI_X, ȳ·PSI_Y) with PSI_X = (1+i)^-(p-1)/3, PSI_Y = (1+i)^-(p-1)/2. */
const ONE_PLUS_I = Fp2.create({ c0: 1n, c1: 1n });
const PSI_X = Fp2.inv(Fp2.pow(ONE_PLUS_I, (Fp.ORDER - 1n) / 3n));
const PSI_Y = Fp2.inv(Fp2.pow(ONE_PLUS_I, (Fp.ORDER - 1n) / 2n));

export const G1: Group<PublicKey> = {
  name: "G1",
  identity: PublicKey.fromBytes(infinityBytes(FP_BYTES)),
  base: U_ABS * U_ABS,
  callCost: 5.5,
  sum: (points) => aggregatePublicKeys(points, false),
  negate(point) {
    const bytes = point.toBytes(false);
    if (isInfinity(bytes)) return point;
    writeFp(bytes, FP_BYTES, Fp.neg(readFp(bytes, FP_BYTES)));
    return PublicKey.fromBytes(bytes);
  },
  basePowers(point) {
    // B·P = -φ(P) = (βx, -y).
    const bytes = point.toBytes(false);
    if (isInfinity(bytes)) return [point, point];
    writeFp(bytes, 0, Fp.mul(readFp(bytes, 0), BETA));
    writeFp(bytes, FP_BYTES, Fp.neg(readFp(bytes, FP_BYTES)));
    return [point, PublicKey.fromBytes(bytes)];
  },
  equals: (a, b) => equalBytes(a.toBytes(), b.toBytes()),
};

export const G2: Group<Signature> = {
  name: "G2",
  identity: Signature.fromBytes(infinityBytes(2 * FP_BYTES)),
  base: U_ABS,
  callCost: 3.5,
  sum: (points) => aggregateSignatures(points, false),
  negate(point) {
    const bytes = point.toBytes(false);
    if (isInfinity(bytes)) return point;
    writeFp2(bytes, 2 * FP_BYTES, Fp2.neg(readFp2(bytes, 2 * FP_BYTES)));
    return Signature.fromBytes(bytes);
  },
  basePowers(point) {
    // B^i·P = (-ψ)^i(P): ψ, negated on odd powers.
    const bytes = point.toBytes(false);
    if (isInfinity(bytes)) return [point, point, point, point];
    let x = readFp2(bytes, 0);
    let y = readFp2(bytes, 2 * FP_BYTES);
    const powers = [point];
    for (let i = 1; i < 4; i++) {
      x = Fp2.mul(Fp2.frobeniusMap(x, 1), PSI_X);
      y = Fp2.mul(Fp2.frobeniusMap(y, 1), PSI_Y);
      const out = new Uint8Array(4 * FP_BYTES);
      writeFp2(out, 0, x);
      writeFp2(out, 2 * FP_BYTES, i % 2 === 1 ? Fp2.neg(y) : y);
      powers.push(Signature.fromBytes(out));
    }
    return powers;
  },
  equals: (a, b) => equalBytes(a.toBytes(), b.toBytes()),
};

function infinityBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  bytes[0] = 0x80 | FLAG_INFINITY; // compressed infinity
  return bytes;
}

function isInfinity(uncompressed: Uint8Array): boolean {
  return (uncompressed[0]! & FLAG_INFINITY) !== 0;
}

/** Reads a big-endian Fp element, masking the flag bits (which only the first byte carries). */
function readFp(bytes: Uint8Array, offset: number): bigint {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset + offset, FP_BYTES).toString("hex");
  const value = BigInt("0x" + hex);
  return offset === 0 ? value & ((1n << 381n) - 1n) : value;
}

/** Writes a big-endian Fp element; at offset 0 this also clears the flags (uncompressed, finite). */
function writeFp(bytes: Uint8Array, offset: number, value: bigint): void {
  bytes.set(Buffer.from(value.toString(16).padStart(2 * FP_BYTES, "0"), "hex"), offset);
}

/** Fp2 elements are serialized c1 first (the zcash format). */
function readFp2(bytes: Uint8Array, offset: number): Fp2 {
  return { c1: readFp(bytes, offset), c0: readFp(bytes, offset + FP_BYTES) };
}

function writeFp2(bytes: Uint8Array, offset: number, value: Fp2): void {
  writeFp(bytes, offset, value.c1);
  writeFp(bytes, offset + FP_BYTES, value.c0);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
