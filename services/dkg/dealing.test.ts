import { describe, expect, it } from "@jest/globals";
import { add, lagrangeAtZeroFactored, mod, mul, randomScalar, secretKeyFromScalar, splitSecret } from "../core/crypto/index.js";
import { toHex } from "../core/hex.js";
import { combine, deal, findInvalidPossessions, popMessage, provePossession, publicShares, sharesFor, sharesMatch, verifyRevealedShares } from "./dealing.js";

const CEREMONY = new Uint8Array(32).fill(7);
const keyOf = (scalar: bigint) => toHex(secretKeyFromScalar(scalar).toPublicKey().toBytes());

describe("dealing", () => {
  it("deals shares that match the commitments, and notices one that does not", () => {
    const dealing = deal([randomScalar(), randomScalar()], 3);
    const shares = sharesFor(dealing, 4);
    expect(sharesMatch(dealing.commitments, 4, shares)).toBe(true);
    expect(verifyRevealedShares(dealing.commitments, 4, shares)).toBe(true);
    const wrong = [shares[0]!, add(shares[1]!, 1n)];
    expect(sharesMatch(dealing.commitments, 4, wrong)).toBe(false);
    expect(verifyRevealedShares(dealing.commitments, 4, wrong)).toBe(false);
    expect(verifyRevealedShares(dealing.commitments, 5, shares)).toBe(false);
  });

  it("checks every dealer's proofs of possession at once, and names the dealers whose proofs fail", () => {
    const dealers = [0, 1, 2].map((dealer) => {
      const constants = [randomScalar(), randomScalar(), randomScalar()];
      const message = popMessage(CEREMONY, dealer);
      return { dealer, message, keys: deal(constants, 2).commitments.map((c) => c[0]!), proofs: provePossession(constants, message) };
    });
    expect(findInvalidPossessions(dealers)).toEqual([]);
    // Dealer 1 replays dealer 2's proofs for its keys; dealer 2 signs its own message with the wrong key.
    const replayed = { ...dealers[1]!, proofs: dealers[2]!.proofs };
    const wrongKey = { ...dealers[2]!, proofs: [dealers[2]!.proofs[0]!, provePossession([randomScalar()], dealers[2]!.message)[0]!, dealers[2]!.proofs[2]!] };
    expect(findInvalidPossessions([dealers[0]!, replayed, wrongKey])).toEqual([1, 2]);
    // A proof of another ceremony does not count.
    const other = { ...dealers[0]!, message: popMessage(new Uint8Array(32), 0) };
    expect(findInvalidPossessions([other])).toEqual([0]);
  });

  it("combines dealings: the sum of the constant terms in a DKG, the old secret when resharing", () => {
    const a = [randomScalar()];
    const b = [randomScalar()];
    const [sum] = combine([deal(a, 3).commitments, deal(b, 3).commitments]);
    expect(toHex(sum![0]!.toBytes())).toBe(keyOf(add(a[0]!, b[0]!)));

    // Resharing 2-of-3 to 3-of-5: shares 1 and 3 of the old secret deal their shares anew.
    const secret = randomScalar();
    const old = splitSecret(secret, 3, 2).shares;
    const dealings = [old[0]!, old[2]!].map((s) => deal([s.value], 3));
    const lagrange = lagrangeAtZeroFactored([1, 3]);
    const [combined] = combine(
      dealings.map((d) => d.commitments),
      lagrange,
    );
    expect(toHex(combined![0]!.toBytes())).toBe(keyOf(secret));
    // The new share of id 5 is Σ λ_i·g_i(5), and its public key is the combined commitments' public share.
    const weights = lagrange.numerators.map((num) => mul(lagrange.scale, mod(num)));
    const newShare = dealings.reduce((sum, d, i) => add(sum, mul(weights[i]!, sharesFor(d, 5)[0]!)), 0n);
    expect(toHex(publicShares(combined!, 5)[4]!.toBytes())).toBe(keyOf(newShare));
  });
});
