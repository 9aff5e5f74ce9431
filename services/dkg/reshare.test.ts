/**
 * Resharing in memory: a cluster's validators move to another operator set or threshold, keys
 * unchanged. The same over real libp2p is in libp2p.test.ts.
 */
import { describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { verify } from "@chainsafe/blst";
import { parsePublicKey, recoverSignature, signPartial } from "../core/crypto/index.js";
import { fromHex } from "../core/hex.js";
import { type Identity, generateIdentity } from "../core/p2p/identity.js";
import { CeremonyError, type CeremonyResult, runCeremony } from "./ceremony.js";
import { type ClusterLock, parseLock } from "../core/cluster/lock.js";
import { MemoryHub } from "./memory.js";
import { runInMemory, testDefinition } from "./testing.js";

/** Whether the given (share id, share) pairs of validator v sign for the lock's key of v. */
function signs(lock: ClusterLock, shares: readonly { id: number; value: bigint }[], v: number): boolean {
  const message = randomBytes(32);
  const signature = recoverSignature(
    shares.map((s) => signPartial(s, message)),
    shares.length,
  );
  return verify(message, parsePublicKey(fromHex(lock.validators[v]!.pubkey, "pubkey"), "pubkey"), signature);
}

/** A DKG among `identities`: its lock and each operator's shares. */
async function dkg(identities: Identity[], numValidators: number): Promise<CeremonyResult[]> {
  return runInMemory(await testDefinition(identities, { numValidators }), identities);
}

/** Reshares `old` to `identities` (old operators among them deal their shares). */
async function reshare(old: CeremonyResult[], oldIdentities: Identity[], identities: Identity[], threshold?: number): Promise<CeremonyResult[]> {
  const lock = old[0]!.lock;
  const definition = await testDefinition(identities, { numValidators: lock.validators.length, threshold });
  const hub = new MemoryHub(identities.length);
  return Promise.all(
    identities.map((identity, i) => {
      const oldIndex = oldIdentities.indexOf(identity);
      return runCeremony({ definition, identity, network: hub.network(i), reshare: { lock, shares: oldIndex >= 0 ? old[oldIndex]!.shares : undefined } });
    }),
  );
}

describe("resharing (in memory)", () => {
  it("moves 4 operators to 7, keeping every validator key and deposit; the new shares sign", async () => {
    const oldIds = Array.from({ length: 4 }, generateIdentity);
    const old = await dkg(oldIds, 2);
    const newIds = [...oldIds, ...Array.from({ length: 3 }, generateIdentity)];
    const results = await reshare(old, oldIds, newIds);

    const lock = results[0]!.lock;
    for (const r of results) expect(r.lock).toEqual(lock);
    expect(await parseLock(JSON.parse(JSON.stringify(lock)), "lock")).toEqual(lock);
    expect(lock.predecessor).toBe(old[0]!.lock.lockHash);
    expect(lock.definition.threshold).toBe(5);
    expect(lock.validators.map((v) => v.pubkey)).toEqual(old[0]!.lock.validators.map((v) => v.pubkey));
    expect(lock.validators.map((v) => v.depositData)).toEqual(old[0]!.lock.validators.map((v) => v.depositData));
    for (let v = 0; v < 2; v++) {
      expect(signs(lock, [1, 3, 5, 6, 7].map((id) => ({ id, value: results[id - 1]!.shares[v]! })), v)).toBe(true);
      expect(signs(lock, [2, 3, 4, 5, 7].map((id) => ({ id, value: results[id - 1]!.shares[v]! })), v)).toBe(true);
    }
  });

  it("replaces an operator: the new one's share signs, the removed one's old share no longer does", async () => {
    const oldIds = Array.from({ length: 4 }, generateIdentity);
    const old = await dkg(oldIds, 2);
    const replacement = generateIdentity();
    const newIds = [oldIds[0]!, oldIds[1]!, oldIds[2]!, replacement];
    const results = await reshare(old, oldIds, newIds);

    const lock = results[0]!.lock;
    expect(lock.validators.map((v) => v.pubkey)).toEqual(old[0]!.lock.validators.map((v) => v.pubkey));
    for (let v = 0; v < 2; v++) {
      const share = (id: number) => ({ id, value: results[id - 1]!.shares[v]! });
      expect(signs(lock, [share(1), share(2), share(4)], v)).toBe(true);
      // The removed operator held share id 4 of the old polynomial, which the new one is independent of.
      expect(signs(lock, [share(1), share(2), { id: 4, value: old[3]!.shares[v]! }], v)).toBe(false);
      // Nor do old shares mix with new ones in any other way.
      expect(signs(lock, [share(1), { id: 2, value: old[1]!.shares[v]! }, share(3)], v)).toBe(false);
    }
  });

  it("refuses too few old operators, changed deposits, and shares that are not the operator's", async () => {
    const oldIds = Array.from({ length: 4 }, generateIdentity);
    const old = await dkg(oldIds, 1);
    const lock = old[0]!.lock;
    const hub = new MemoryHub(4);

    const twoOld = [oldIds[0]!, oldIds[1]!, generateIdentity(), generateIdentity()];
    const def = await testDefinition(twoOld, { numValidators: 1 });
    expect(() => runCeremony({ definition: def, identity: twoOld[0]!, network: hub.network(0), reshare: { lock, shares: old[0]!.shares } })).toThrow(
      "resharing needs at least 3 (the old threshold) of the old operators in the new definition; it has 2",
    );

    const more = await testDefinition(oldIds, { numValidators: 2 });
    expect(() => runCeremony({ definition: more, identity: oldIds[0]!, network: hub.network(0), reshare: { lock, shares: old[0]!.shares } })).toThrow(
      /numValidators is 2, the lock's 1: resharing keeps the validators/,
    );

    const same = await testDefinition(oldIds, { numValidators: 1 });
    expect(() => runCeremony({ definition: same, identity: oldIds[0]!, network: hub.network(0), reshare: { lock, shares: old[1]!.shares } })).toThrow(
      "the key share given for validator 0 is not this operator's share 1 in the cluster lock",
    );
    expect(() => runCeremony({ definition: same, identity: oldIds[0]!, network: hub.network(0), reshare: { lock } })).toThrow(/must deal them/);
  });

  it("fails when a dealer's C_0 is not its public share in the lock, if too few dealers remain", async () => {
    const oldIds = Array.from({ length: 4 }, generateIdentity);
    const old = await dkg(oldIds, 1);
    const lock = old[0]!.lock;
    // Exactly the old threshold of old operators take part, and one deals a share it does not hold.
    const newIds = [oldIds[0]!, oldIds[1]!, oldIds[2]!, generateIdentity()];
    const definition = await testDefinition(newIds, { numValidators: 1 });
    const hub = new MemoryHub(4);
    const outcomes = await Promise.allSettled(
      newIds.map((identity, i) =>
        runCeremony({
          definition,
          identity,
          network: hub.network(i),
          timeouts: { connectMs: 2_000, phaseMs: 2_000 },
          reshare: { lock, shares: i < 3 ? old[i]!.shares : undefined },
          // op-2 deals a polynomial whose constant term is not its share.
          ...(i === 2 && { faulty: { deal: (chunk) => ({ ...chunk, validators: chunk.validators.map((v) => ({ ...v, commitments: [v.commitments[1]!, ...v.commitments.slice(1)] })) }) } }),
        }),
      ),
    );
    for (const o of outcomes) {
      expect(o.status).toBe("rejected");
      const err = (o as PromiseRejectedResult).reason as CeremonyError;
      expect(err).toBeInstanceOf(CeremonyError);
      expect(err.message).toMatch(/^resharing failed \(finalize\): only 2 dealers qualified \(op-0, op-1\), at least 3 are needed; disqualified: op-2 \(validator 0: C_0 is not the dealer's public share in the lock\)$/);
    }
  });
});
