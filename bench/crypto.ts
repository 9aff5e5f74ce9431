/**
 * Threshold BLS for an 11-of-16 cluster, each figure as a multiple of one native blst sign
 * measured in the same run (the ratio is what carries across machines).
 */
import { type PublicKey, SecretKey, aggregateWithRandomness, verify } from "@chainsafe/blst";
import { randomBytes, randomInt } from "node:crypto";
import { toBytes32 } from "../services/core/crypto/fr.js";
import {
  type ShareCheck,
  commitPolynomial,
  parsePartialSignature,
  publicShare,
  randomScalar,
  recoverPublicKey,
  recoverSignature,
  signPartial,
  splitSecret,
  verifyPartials,
  verifyShares,
} from "../services/core/crypto/index.js";
import type { Benchmark } from "./index.js";
import { medianMs, printTable } from "./measure.js";

const N = 16;
const T = 11;
const DEALERS = 16;
const VALIDATORS = 100;

export const cryptoBench: Benchmark = {
  name: "crypto",
  description: `threshold BLS ${T}-of-${N}: recovery, batched partial and Feldman checks vs one blst sign`,
  async run() {
    const secret = randomScalar();
    const key = SecretKey.fromBytes(toBytes32(secret));
    const message = randomBytes(32);
    const { shares, coefficients } = splitSecret(secret, N, T);
    const publicShares = shares.map(publicShare);
    const publicKeys = new Map<number, PublicKey>(publicShares.map((p) => [p.id, p.publicKey]));
    const allPartials = shares.map((s) => signPartial(s, message));
    // Recovery costs depend on which t ids sign (ids 1..t have integer Lagrange coefficients,
    // the cheapest case): each run takes a fresh random subset.
    const subsets = Array.from({ length: 64 }, () => randomSubset(N, T));
    let run = 0;
    const nextSubset = () => subsets[run++ % subsets.length]!;
    const partials = allPartials.slice(0, T);
    const partialBytes = partials.map((p) => ({ id: p.id, bytes: p.signature.toBytes() }));
    const signature = key.sign(message);
    const publicKey = key.toPublicKey();

    // One dealer's shares for all receivers.
    const commitments = commitPolynomial(coefficients);
    const dealerChecks: ShareCheck[] = shares.map((share) => ({ commitments, share }));
    // One receiver's shares from every dealer, for every validator (receiver 15: a power of two
    // such as 16 would make the weights j^k suspiciously cheap).
    const receiverChecks: ShareCheck[] = [];
    for (let i = 0; i < DEALERS * VALIDATORS; i++) {
      const dealt = splitSecret(randomScalar(), N, T);
      receiverChecks.push({ commitments: commitPolynomial(dealt.coefficients), share: dealt.shares[14]! });
    }

    // Time only the successful paths.
    if (!verifyPartials(message, partials, publicKeys)) throw new Error("partials do not verify");
    if (!verifyShares(dealerChecks) || !verifyShares(receiverChecks)) throw new Error("shares do not verify");

    const sign = await medianMs(() => key.sign(message), 200);
    const rows: [string, number, string][] = [
      ["sign (blst)", sign, ""],
      ["verify (blst)", await medianMs(() => verify(message, publicKey, signature), 100), ""],
      [
        "recover signature",
        await medianMs(() => recoverSignature(nextSubset().map((i) => allPartials[i]!), T), 100),
        "<= 6",
      ],
      [
        "recover group public key",
        await medianMs(() => recoverPublicKey(nextSubset().map((i) => publicShares[i]!), T), 50),
        "",
      ],
      [`verify ${T} partials, batched`, await medianMs(() => verifyPartials(message, partials, publicKeys), 50), "<= 10"],
      [
        `  parse (group-check) + verify ${T} partials`,
        await medianMs(() => {
          const parsed = partialBytes.map((p) => parsePartialSignature(p.id, p.bytes));
          return verifyPartials(message, parsed, publicKeys);
        }, 50),
        "",
      ],
      [
        `  same from bytes via aggregateWithRandomness`,
        await medianMs(() => {
          const sets = partialBytes.map((p) => ({ pk: publicKeys.get(p.id)!, sig: p.bytes }));
          const { pk, sig } = aggregateWithRandomness(sets);
          return verify(message, pk, sig);
        }, 50),
        "",
      ],
      [`Feldman, 1 dealer x ${N} shares`, await medianMs(() => verifyShares(dealerChecks), 50), ""],
      [
        `Feldman, 1 receiver x ${DEALERS} dealers x ${VALIDATORS} validators`,
        await medianMs(() => verifyShares(receiverChecks), 5, 1),
        "",
      ],
    ];
    printTable(
      ["operation", "ms", "x sign", "target (x sign)"],
      rows.map(([name, ms, target]) => [name, ms, ms / sign, target]),
    );
  },
};

/** t distinct indices out of 0..n-1, in random order. */
function randomSubset(n: number, t: number): number[] {
  const indices = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [indices[i], indices[j]] = [indices[j]!, indices[i]!];
  }
  return indices.slice(0, t);
}
