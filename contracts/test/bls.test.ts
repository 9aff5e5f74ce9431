/**
 * The Solidity BLS12-381 library against blst (the signer the services use) and noble (an
 * independent RFC 9380 implementation), on a real Prague EVM.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SecretKey, aggregatePublicKeys } from "@chainsafe/blst";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { expand_message_xmd } from "@noble/curves/abstract/hash-to-curve.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { getBytes, hexlify, randomBytes, toUtf8Bytes } from "ethers";

import { startAnvil } from "../anvil.js";
import type { Anvil } from "../anvil.js";
import { POP_DST, SIGNATURE_DST, g1FromPublicKey, g2FromSignature, proofOfPossession } from "../client/bls.js";
import { BLS12381HarnessAbi, BLS12381HarnessBytecode } from "../generated/index.js";
import type { BLS12381Harness } from "../generated/index.js";
import { SETUP_TIMEOUT_MS, deploy } from "./helpers.js";

const WORD = 1n << 256n;
const MESSAGES = [new Uint8Array(0), toUtf8Bytes("abc"), new Uint8Array(32).fill(7), randomBytes(300)];

function key(seed: number): SecretKey {
  return SecretKey.fromKeygen(new Uint8Array(32).fill(seed));
}

describe("BLS12381 library", () => {
  let anvil: Anvil;
  let bls: BLS12381Harness;

  beforeAll(async () => {
    anvil = await startAnvil();
    bls = await deploy<BLS12381Harness>(await anvil.signer(0), BLS12381HarnessAbi, BLS12381HarnessBytecode);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await anvil?.stop();
  });

  it("expands messages exactly as RFC 9380 expand_message_xmd (noble)", async () => {
    for (const msg of MESSAGES) {
      for (const dst of [SIGNATURE_DST, POP_DST]) {
        const expected = expand_message_xmd(msg, toUtf8Bytes(dst), 256, sha256);
        expect(await bls.expandMessageXmd(msg, toUtf8Bytes(dst))).toBe(hexlify(expected));
      }
    }
  });

  it("hashes to G2 exactly as noble's hash_to_curve, so MAP_FP2_TO_G2 clears the cofactor", async () => {
    for (const msg of MESSAGES) {
      const expected = bls12_381.G2.hashToCurve(msg, { DST: SIGNATURE_DST }).toAffine();
      const h = await bls.hashToG2(msg, toUtf8Bytes(SIGNATURE_DST));
      expect(h.x0Hi * WORD + h.x0Lo).toBe(expected.x.c0);
      expect(h.x1Hi * WORD + h.x1Lo).toBe(expected.x.c1);
      expect(h.y0Hi * WORD + h.y0Lo).toBe(expected.y.c0);
      expect(h.y1Hi * WORD + h.y1Lo).toBe(expected.y.c1);
    }
  });

  it("verifies signatures made by blst and rejects forgeries", async () => {
    const sk = key(1);
    const pk = g1FromPublicKey(sk.toPublicKey());
    for (const msg of MESSAGES) {
      const sig = g2FromSignature(sk.sign(msg));
      expect(await bls.verify(pk, msg, sig)).toBe(true);
      // Another message, another key, another key's signature: all rejected.
      expect(await bls.verify(pk, toUtf8Bytes("other"), sig)).toBe(false);
      expect(await bls.verify(g1FromPublicKey(key(2).toPublicKey()), msg, sig)).toBe(false);
      expect(await bls.verify(pk, msg, g2FromSignature(key(2).sign(msg)))).toBe(false);
    }
  });

  it("verifies proofs of possession over the compressed key, with the POP tag only", async () => {
    const sk = key(3);
    const pk = g1FromPublicKey(sk.toPublicKey());
    expect(await bls.verifyProofOfPossession(pk, proofOfPossession(sk))).toBe(true);
    // A proof of another key, and a plain signature of the key bytes (wrong tag), both fail.
    expect(await bls.verifyProofOfPossession(pk, proofOfPossession(key(4)))).toBe(false);
    const sigTagged = g2FromSignature(sk.sign(sk.toPublicKey().toBytes(true)));
    expect(await bls.verifyProofOfPossession(pk, sigTagged)).toBe(false);
    // The point at infinity never proves possession.
    const zeroG1 = { xHi: 0n, xLo: 0n, yHi: 0n, yLo: 0n };
    const zeroG2 = { x0Hi: 0n, x0Lo: 0n, x1Hi: 0n, x1Lo: 0n, y0Hi: 0n, y0Lo: 0n, y1Hi: 0n, y1Lo: 0n };
    expect(await bls.verifyProofOfPossession(zeroG1, zeroG2)).toBe(false);
  });

  it("compresses G1 and G2 points to blst's bytes, both signs of y", async () => {
    // 16 keys cover both values of the sign flag with overwhelming probability.
    const signs = new Set<number>();
    for (let i = 10; i < 26; i++) {
      const sk = key(i);
      const pk = sk.toPublicKey();
      expect(await bls.compressG1(g1FromPublicKey(pk))).toBe(hexlify(pk.toBytes(true)));
      const sig = sk.sign(toUtf8Bytes(`m${i}`));
      expect(await bls.compressG2(g2FromSignature(sig))).toBe(hexlify(sig.toBytes(true)));
      signs.add(pk.toBytes(true)[0]! & 0x20);
    }
    expect(signs.size).toBe(2);
  });

  it("adds and negates in G1 as blst aggregates", async () => {
    const a = key(5).toPublicKey();
    const b = key(6).toPublicKey();
    // ethers returns frozen Results; plain objects go back in.
    const sum = (await bls.add(g1FromPublicKey(a), g1FromPublicKey(b))).toObject(true);
    expect(sum).toEqual(g1FromPublicKey(aggregatePublicKeys([a, b])));
    const negB = (await bls.negate(g1FromPublicKey(b))).toObject(true);
    expect((await bls.add(sum, negB)).toObject(true)).toEqual(g1FromPublicKey(a));
    const negA = (await bls.negate(g1FromPublicKey(a))).toObject(true);
    expect((await bls.add(g1FromPublicKey(a), negA)).toObject(true)).toEqual({
      xHi: 0n,
      xLo: 0n,
      yHi: 0n,
      yLo: 0n,
    });
    expect(getBytes(await bls.compressG1(negA))[0]! & 0x20).not.toBe(
      a.toBytes(true)[0]! & 0x20,
    );
  });
});
