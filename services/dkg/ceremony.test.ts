/**
 * The ceremony's protocol edge cases, over the in-memory network (messages still SSZ-encoded):
 * fast, and able to drop or alter what one operator sends. The same ceremonies over real libp2p
 * are in libp2p.test.ts.
 */
import { describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { PublicKey, verify } from "@chainsafe/blst";
import { FR_ORDER, add, parsePublicKey, recoverSignature, signPartial } from "../core/crypto/index.js";
import { G1 } from "../core/crypto/groups.js";
import { multiScalarMul } from "../core/crypto/msm.js";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { verifyDepositData } from "../core/eth/index.js";
import { fromHex } from "../core/hex.js";
import { type Identity, generateIdentity } from "../core/p2p/identity.js";
import { CeremonyError, type CeremonyResult, type Progress, runCeremony } from "./ceremony.js";
import { parseLock } from "../core/cluster/lock.js";
import { MemoryHub } from "./memory.js";
import type { Deal, Envelope, MessageKind, Messages } from "./messages.js";
import type { CeremonyNetwork } from "./network.js";
import { type OperatorOptions, runInMemory, testDefinition } from "./testing.js";

const FAST = { connectMs: 2_000, phaseMs: 2_000 };

/** Whether shares `ids` of validator v sign a random message into a signature its key verifies. */
function thresholdSigns(results: readonly CeremonyResult[], ids: readonly number[], v: number): boolean {
  const lock = results.find((r) => r !== undefined)!.lock;
  const message = randomBytes(32);
  const partials = ids.map((id) => signPartial({ id, value: results[id - 1]!.shares[v]! }, message));
  const signature = recoverSignature(partials, lock.definition.threshold);
  return verify(message, parsePublicKey(fromHex(lock.validators[v]!.pubkey, "pubkey"), "pubkey"), signature);
}

/** `network` with what operator `self` sends altered by `alter` (undefined: dropped). */
function tampered(network: CeremonyNetwork, alter: (to: number, message: Envelope) => Envelope | undefined): CeremonyNetwork {
  return {
    receive: (handler) => network.receive(handler),
    send: async <K extends MessageKind>(to: number, kind: K, body: Messages[K], timeoutMs: number) => {
      const message = alter(to, { kind, body } as Envelope);
      if (message !== undefined) await network.send(to, message.kind, message.body as Messages[K], timeoutMs);
    },
  };
}

/** Runs n operators in memory, each with its own network transformation and options. */
async function runWith(
  n: number,
  numValidators: number,
  opts: { threshold?: number; network?: (i: number, network: CeremonyNetwork) => CeremonyNetwork; operator?: OperatorOptions; skip?: number[] } = {},
): Promise<{ identities: Identity[]; outcomes: PromiseSettledResult<CeremonyResult>[] }> {
  const identities = Array.from({ length: n }, generateIdentity);
  const definition = await testDefinition(identities, { numValidators, threshold: opts.threshold });
  const hub = new MemoryHub(n);
  const outcomes = await Promise.allSettled(
    identities.map((identity, i) =>
      opts.skip?.includes(i)
        ? Promise.reject(new Error("not started"))
        : runCeremony({ definition, identity, network: opts.network?.(i, hub.network(i)) ?? hub.network(i), timeouts: FAST, ...opts.operator?.(i) }),
    ),
  );
  return { identities, outcomes };
}

function fulfilled(outcomes: PromiseSettledResult<CeremonyResult>[]): CeremonyResult[] {
  return outcomes.map((o) => {
    if (o.status === "rejected") throw o.reason;
    return o.value;
  });
}

function rejected(outcomes: PromiseSettledResult<CeremonyResult>[], indices: readonly number[]): CeremonyError[] {
  return indices.map((i) => {
    const o = outcomes[i]!;
    if (o.status === "fulfilled") throw new Error(`operator ${i} completed`);
    expect(o.reason).toBeInstanceOf(CeremonyError);
    return o.reason as CeremonyError;
  });
}

/** The cofactor of G1: the curve has h·r points. */
const G1_COFACTOR = 0x396c8c005555e1568c00aaab0000aaabn;

/**
 * A point of order 3 on the curve, so not in G1: (h·r/3)·P for a point P of the curve whose
 * order 3 divides (blst refuses to decode the order-3 points themselves).
 */
function orderThreePoint(): PublicKey {
  const { Fp } = bls12_381.fields;
  for (let x = 1n; ; x++) {
    const y2 = Fp.add(Fp.pow(x, 3n), 4n);
    if (Fp.pow(y2, (Fp.ORDER - 1n) / 2n) !== 1n) continue; // no point with this x
    const y = Fp.sqrt(y2);
    const bytes = new Uint8Array(96);
    bytes.set(Buffer.from(x.toString(16).padStart(96, "0"), "hex"), 0);
    bytes.set(Buffer.from(y.toString(16).padStart(96, "0"), "hex"), 48);
    const point = multiScalarMul(G1, [PublicKey.fromBytes(bytes, false)], [(G1_COFACTOR * FR_ORDER) / 3n]);
    if (G1.equals(point, G1.identity)) continue;
    expect(G1.equals(G1.sum([point, point, point]), G1.identity)).toBe(true);
    return point;
  }
}

describe("DKG ceremony (in memory)", () => {
  it("makes keys any t operators sign for, one lock for all, valid deposit data, and reports progress", async () => {
    const identities = Array.from({ length: 4 }, generateIdentity);
    const definition = await testDefinition(identities, { numValidators: 3 });
    const progress: Progress[] = [];
    const results = await runInMemory(definition, identities, (i) => (i === 0 ? { onProgress: (p) => progress.push(p) } : {}));

    const lock = results[0]!.lock;
    for (const r of results) expect(r.lock).toEqual(lock);
    expect(await parseLock(JSON.parse(JSON.stringify(lock)), "lock")).toEqual(lock);
    expect(results.map((r) => r.shareId)).toEqual([1, 2, 3, 4]);
    expect(results.every((r) => r.disqualified.length === 0)).toBe(true);
    for (let v = 0; v < 3; v++) {
      expect(thresholdSigns(results, [1, 2, 3], v)).toBe(true);
      expect(thresholdSigns(results, [2, 4, 3], v)).toBe(true);
      // Two shares are not enough.
      const two = [1, 2].map((id) => signPartial({ id, value: results[id - 1]!.shares[v]! }, new Uint8Array(32)));
      expect(() => recoverSignature(two, 3)).toThrow(/threshold is 3/);
    }
    expect(verifyDepositData(lock.validators.map((v) => v.depositData))).toEqual([]);
    expect(new Set(lock.validators.map((v) => v.pubkey)).size).toBe(3);

    expect([...new Set(progress.map((p) => p.phase))]).toEqual(["connect", "deal", "verify", "justify", "finalize", "deposit", "lock"]);
    expect(progress.at(-1)).toEqual({ phase: "lock", peersReady: 3, peers: 3, validatorsDone: 3, validators: 3 });
  });

  it("disqualifies a dealer whose shares fail and whose justification fails too, and completes without it", async () => {
    const { outcomes } = await runWith(4, 2, {
      // op-3 gives op-0 wrong shares, and reveals the same when op-0 complains.
      operator: (i) => (i === 3 ? { faulty: { shares: (to, shares) => (to === 0 ? shares.map((s) => add(s, 1n)) : shares) } } : {}),
    });
    const results = fulfilled(outcomes);
    for (const r of results) {
      expect(r.disqualified).toEqual([{ operator: "op-3", reason: "its shares for op-0 do not match its commitments" }]);
      expect(r.lock).toEqual(results[0]!.lock);
    }
    for (let v = 0; v < 2; v++) {
      expect(thresholdSigns(results, [1, 2, 3], v)).toBe(true);
      expect(thresholdSigns(results, [1, 3, 4], v)).toBe(true); // op-3 holds a good share: it still received
    }
  });

  it("keeps a dealer whose shares were altered on the way but who justifies them", async () => {
    const { outcomes } = await runWith(4, 2, {
      network: (i, net) =>
        i === 3
          ? tampered(net, (to, m) => (m.kind === "shares" && to === 0 ? { kind: "shares", body: { shares: m.body.shares.map(() => new Uint8Array(32).fill(0xff)) } } : m))
          : net,
    });
    const results = fulfilled(outcomes);
    for (const r of results) expect(r.disqualified).toEqual([]);
    expect(thresholdSigns(results, [1, 2, 4], 1)).toBe(true);
  });

  it("disqualifies a dealer with an invalid proof of possession", async () => {
    const { outcomes } = await runWith(4, 2, {
      // op-1 swaps its two proofs: each is a valid signature, by the other validator's key.
      operator: (i) =>
        i === 1
          ? { faulty: { deal: (chunk: Deal) => ({ ...chunk, validators: chunk.validators.map((v, j, all) => ({ ...v, proof: all[1 - j]!.proof })) }) } }
          : {},
    });
    const results = fulfilled(outcomes);
    for (const r of results) expect(r.disqualified).toEqual([{ operator: "op-1", reason: "invalid proof of possession" }]);
    expect(thresholdSigns(results, [1, 3, 4], 0)).toBe(true);
  });

  it("disqualifies a dealer whose commitments carry torsion that no share check can see", async () => {
    // C_1 + T and C_3 - T for T of order 3: j·T - j³·T = 0 for every j, so every share checks out,
    // but the combined commitments would leave G1.
    const T = orderThreePoint();
    const { outcomes } = await runWith(5, 2, {
      threshold: 4,
      operator: (i) =>
        i === 2
          ? {
              faulty: {
                deal: (chunk: Deal) => ({
                  ...chunk,
                  validators: chunk.validators.map((v) => {
                    const c = v.commitments.map((b) => PublicKey.fromBytes(b, false));
                    c[1] = G1.sum([c[1]!, T]);
                    c[3] = G1.sum([c[3]!, T, T]);
                    return { ...v, commitments: c.map((p) => p.toBytes(false)) };
                  }),
                }),
              },
            }
          : {},
    });
    const results = fulfilled(outcomes);
    for (const r of results) expect(r.disqualified).toEqual([{ operator: "op-2", reason: "commitments not in G1" }]);
    expect(await parseLock(JSON.parse(JSON.stringify(results[0]!.lock)), "lock")).toBeDefined();
    expect(thresholdSigns(results, [1, 2, 4, 5], 1)).toBe(true);
  });

  it("fails, naming the dealer, when a dealer shows different commitments to different operators", async () => {
    const { outcomes } = await runWith(4, 1, {
      network: (i, net) =>
        i === 2
          ? tampered(net, (to, m) => {
              if (m.kind !== "deal" || to !== 0) return m;
              const [v] = m.body.validators;
              const other = G1.sum([PublicKey.fromBytes(v!.commitments[1]!, false), PublicKey.fromBytes(v!.commitments[1]!, false)]);
              return { kind: "deal", body: { ...m.body, validators: [{ ...v!, commitments: [v!.commitments[0]!, other.toBytes(false), v!.commitments[2]!] }] } };
            })
          : net,
    });
    const errors = rejected(outcomes, [0, 1, 2, 3]);
    for (const e of errors) {
      expect(e.phase).toBe("justify");
      expect(e.operators).toContain("op-2");
    }
    expect(errors[1]!.message).toMatch(/op-0 received a different deal than this node from op-2/);
  });

  it("fails naming the operator that never came up, and the one that stopped answering", async () => {
    const down = await runWith(4, 1, { skip: [3] });
    for (const e of rejected(down.outcomes, [0, 1, 2])) {
      expect(e.phase).toBe("connect");
      expect(e.operators).toEqual(["op-3"]);
      expect(e.message).toMatch(/^DKG failed \(connect\): not every operator is up and running this ceremony; no answer from op-3 within 2 s$/);
    }

    // op-1 deals, then goes silent: nobody gets its complaints.
    const silent = await runWith(4, 1, { network: (i, net) => (i === 1 ? tampered(net, (_, m) => (["hello", "deal", "shares"].includes(m.kind) ? m : undefined)) : net) });
    for (const e of rejected(silent.outcomes, [0, 2, 3])) {
      expect(e.phase).toBe("justify");
      expect(e.message).toMatch(/no complaints message from op-1 within 2 s/);
    }
  });

  it("fails at once when an operator runs another definition", async () => {
    const identities = Array.from({ length: 3 }, generateIdentity);
    const definition = await testDefinition(identities, { numValidators: 1 });
    const other = await testDefinition(identities, { numValidators: 2 });
    const hub = new MemoryHub(3);
    const outcomes = await Promise.allSettled(
      identities.map((identity, i) => runCeremony({ definition: i === 2 ? other : definition, identity, network: hub.network(i), timeouts: FAST })),
    );
    const errors = rejected(outcomes, [0, 1]);
    for (const e of errors) expect(e.message).toMatch(/op-2 runs a different ceremony: its cluster definition differs from this node's/);
  });
});
