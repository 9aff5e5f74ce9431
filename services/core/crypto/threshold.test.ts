import { describe, expect, it } from "@jest/globals";
import { type PublicKey, SecretKey, verify } from "@chainsafe/blst";
import { randomBytes, randomInt } from "node:crypto";
import { NektarError } from "../errors.js";
import { InvalidPointError } from "./bls.js";
import { mul, inv, randomScalar, toBytes32 } from "./fr.js";
import { G2 } from "./groups.js";
import { scalarMul } from "./msm.js";
import { lagrangeAtZero, splitSecret } from "./shamir.js";
import {
  type PartialSignature,
  parsePartialSignature,
  publicShare,
  recoverPublicKey,
  recoverSignature,
  signPartial,
  findInvalidPartials,
  verifyPartial,
  verifyPartials,
} from "./threshold.js";

function randomSubset<T>(items: readonly T[], t: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, t);
}

/** A validator key split n ways, with its partials and public shares on one message. */
function cluster(n: number, t: number) {
  const secret = randomScalar();
  const key = SecretKey.fromBytes(toBytes32(secret));
  const message = randomBytes(32);
  const { shares } = splitSecret(secret, n, t);
  const partials = shares.map((s) => signPartial(s, message));
  const publicShares = shares.map(publicShare);
  const publicKeys = new Map<number, PublicKey>(publicShares.map((p) => [p.id, p.publicKey]));
  return { key, message, shares, partials, publicShares, publicKeys };
}

describe("threshold recovery", () => {
  it.each([
    [4, 3],
    [7, 5],
    [16, 11],
  ])("recovers from any t of a (%i, %i) sharing exactly what the whole key signs", (n, t) => {
    const { key, message, partials, publicShares } = cluster(n, t);
    const signature = key.sign(message).toHex();
    const publicKey = key.toPublicKey().toHex();
    for (let trial = 0; trial < 4; trial++) {
      expect(recoverSignature(randomSubset(partials, t), t).toHex()).toBe(signature);
      expect(recoverPublicKey(randomSubset(publicShares, t), t).toHex()).toBe(publicKey);
    }
  });

  it("uses the first t when given more, and refuses fewer", () => {
    const { key, message, partials, publicShares } = cluster(7, 5);
    expect(recoverSignature(partials, 5).toHex()).toBe(key.sign(message).toHex());
    expect(() => recoverSignature(partials.slice(0, 4), 5)).toThrow(/partial signatures: 4 given, the threshold is 5/);
    expect(() => recoverPublicKey(publicShares.slice(0, 4), 5)).toThrow(NektarError);
  });

  it("does not recover the key's signature from t-1 partials", () => {
    const { key, message, partials } = cluster(7, 5);
    expect(recoverSignature(partials.slice(0, 4), 4).toHex()).not.toBe(key.sign(message).toHex());
  });

  it("rejects duplicate ids", () => {
    const { partials } = cluster(4, 3);
    expect(() => recoverSignature([partials[0]!, partials[1]!, partials[0]!], 3)).toThrow(/share id 1 appears twice/);
  });

  it("works at threshold 1", () => {
    const { key, message, partials } = cluster(3, 1);
    expect(recoverSignature([partials[2]!], 1).toHex()).toBe(key.sign(message).toHex());
  });
});

describe("partial signatures", () => {
  it("verify against their public share only", () => {
    const { message, partials, publicShares } = cluster(4, 3);
    expect(verifyPartial(message, partials[1]!, publicShares[1]!.publicKey)).toBe(true);
    expect(verifyPartial(message, partials[1]!, publicShares[2]!.publicKey)).toBe(false);
    expect(verifyPartial(randomBytes(32), partials[1]!, publicShares[1]!.publicKey)).toBe(false);
  });

  it("parse from bytes, naming the share in errors", () => {
    const { partials } = cluster(4, 3);
    expect(parsePartialSignature(2, partials[1]!.signature.toBytes()).signature.toHex()).toBe(partials[1]!.signature.toHex());
    for (const garbage of [randomBytes(96), new Uint8Array(96), randomBytes(12)]) {
      expect(() => parsePartialSignature(7, garbage)).toThrow(InvalidPointError);
      expect(() => parsePartialSignature(7, garbage)).toThrow(/^partial signature of share 7: /);
    }
    expect(() => parsePartialSignature(0, partials[0]!.signature.toBytes())).toThrow(/share id 0/);
  });
});

describe("batched partial verification", () => {
  it("accepts a batch of valid partials", () => {
    const { message, partials, publicKeys } = cluster(16, 11);
    const batch = randomSubset(partials, 11);
    expect(verifyPartials(message, batch, publicKeys)).toBe(true);
    expect(verifyPartials(message, partials.slice(0, 1), publicKeys)).toBe(true);
    expect(verifyPartials(message, [], publicKeys)).toBe(true);
    expect(findInvalidPartials(message, batch, publicKeys)).toEqual([]);
  });

  it("rejects a batch with a wrong partial and names the wrong ones", () => {
    const { message, shares, partials, publicKeys } = cluster(16, 11);
    const batch = partials.slice(0, 11);
    batch[4] = signPartial(shares[4]!, randomBytes(32)); // share 5 signed something else
    expect(verifyPartials(message, batch, publicKeys)).toBe(false);
    expect(findInvalidPartials(message, batch, publicKeys)).toEqual([5]);
    batch[8] = { id: 9, signature: partials[9]!.signature }; // share 10's partial, claimed by 9
    expect(findInvalidPartials(message, batch, publicKeys)).toEqual([5, 9]);
  });

  it("rejects and names partials of shares it has no public key for", () => {
    const { message, partials, publicKeys } = cluster(16, 11);
    const fewerKeys = new Map(publicKeys);
    fewerKeys.delete(3);
    expect(verifyPartials(message, partials.slice(0, 11), fewerKeys)).toBe(false);
    expect(findInvalidPartials(message, partials.slice(0, 11), fewerKeys)).toEqual([3]);
  });

  it("catches errors that cancel out in the recovered signature", () => {
    // Two colluding shares add E and -(λ_a/λ_b)·E: the recovered signature is still valid, but
    // the random weights of the batch expose both partials.
    const { key, message, partials, publicKeys } = cluster(16, 11);
    const batch = partials.slice(0, 11);
    const lambdas = lagrangeAtZero(batch.map((p) => p.id));
    const error = SecretKey.fromBytes(toBytes32(randomScalar())).sign(randomBytes(32));
    const [a, b] = [2, 6];
    const shifted: PartialSignature[] = batch.map((p, i) => {
      if (i === a) return { id: p.id, signature: G2.sum([p.signature, error]) };
      if (i === b) {
        const cancel = scalarMul(G2, error, -mul(lambdas[a]!, inv(lambdas[b]!)));
        return { id: p.id, signature: G2.sum([p.signature, cancel]) };
      }
      return p;
    });
    const recovered = recoverSignature(shifted, 11);
    expect(recovered.toHex()).toBe(key.sign(message).toHex());
    expect(verify(message, key.toPublicKey(), recovered)).toBe(true);
    expect(verifyPartials(message, shifted, publicKeys)).toBe(false);
    expect(findInvalidPartials(message, shifted, publicKeys)).toEqual([batch[a]!.id, batch[b]!.id]);
  });

  it("rejects duplicate ids", () => {
    const { message, partials, publicKeys } = cluster(4, 3);
    expect(() => verifyPartials(message, [partials[0]!, partials[0]!], publicKeys)).toThrow(/appears twice/);
    expect(() => findInvalidPartials(message, [partials[0]!, partials[0]!], publicKeys)).toThrow(/appears twice/);
  });
});
