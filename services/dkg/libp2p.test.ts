/**
 * Ceremonies over real libp2p (TCP, noise, yamux) on 127.0.0.1: one ClusterHost per operator,
 * all in this process.
 */
import { describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { verify } from "@chainsafe/blst";
import { Registry } from "prom-client";
import { add, parsePublicKey, recoverSignature, signPartial } from "../core/crypto/index.js";
import { verifyDepositData } from "../core/eth/index.js";
import { fromHex } from "../core/hex.js";
import { P2pError } from "../core/p2p/errors.js";
import { ClusterHost } from "../core/p2p/host.js";
import { generateIdentity } from "../core/p2p/identity.js";
import { freePorts } from "../core/p2p/testing.js";
import { type CeremonyResult, ceremonyId, runCeremony } from "./ceremony.js";
import { parseLock } from "../core/cluster/lock.js";
import { PROTOCOLS } from "./messages.js";
import { type OperatorOptions, loopbackCluster, runOverLibp2p, startHost, testDefinition } from "./testing.js";

function fulfilled(outcomes: PromiseSettledResult<CeremonyResult>[]): CeremonyResult[] {
  return outcomes.map((o) => {
    if (o.status === "rejected") throw o.reason;
    return o.value;
  });
}

/** Whether shares `ids` (by share id) of validator v make a signature its key in the lock verifies. */
function thresholdSigns(results: readonly CeremonyResult[], ids: readonly number[], v: number): boolean {
  const lock = results[0]!.lock;
  const message = randomBytes(32);
  const partials = ids.map((id) => signPartial({ id, value: results[id - 1]!.shares[v]! }, message));
  return verify(message, parsePublicKey(fromHex(lock.validators[v]!.pubkey, "pubkey"), "pubkey"), recoverSignature(partials, lock.definition.threshold));
}

/** Random t of 1..n. */
function someIds(n: number, t: number): number[] {
  return [...Array.from({ length: n }, (_, i) => i + 1)].sort(() => Math.random() - 0.5).slice(0, t);
}

async function dkgOverLibp2p(n: number, numValidators: number, perOperator?: OperatorOptions) {
  const { identities, definition } = await loopbackCluster(n, { numValidators });
  const results = fulfilled(await runOverLibp2p(definition, identities, perOperator));
  return { identities, definition, results };
}

describe("DKG over libp2p on 127.0.0.1", () => {
  it("4 operators, threshold 3: keys whose threshold signatures verify, one lock, valid deposits", async () => {
    const { results } = await dkgOverLibp2p(4, 2);
    const lock = results[0]!.lock;
    for (const r of results) expect(r.lock).toEqual(lock);
    expect(await parseLock(JSON.parse(JSON.stringify(lock)), "lock")).toEqual(lock);
    expect(verifyDepositData(lock.validators.map((v) => v.depositData), {})).toEqual([]);
    for (let v = 0; v < 2; v++) {
      expect(thresholdSigns(results, [1, 2, 3], v)).toBe(true);
      expect(thresholdSigns(results, someIds(4, 3), v)).toBe(true);
    }
  });

  it("16 operators, threshold 11", async () => {
    const { results } = await dkgOverLibp2p(16, 2);
    const lock = results[0]!.lock;
    expect(lock.definition.threshold).toBe(11);
    for (const r of results) expect(r.lock.lockHash).toBe(lock.lockHash);
    for (let v = 0; v < 2; v++) {
      expect(thresholdSigns(results, someIds(16, 11), v)).toBe(true);
      expect(thresholdSigns(results, [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], v)).toBe(true);
    }
    // Ten shares are not enough.
    const ten = someIds(16, 10).map((id) => signPartial({ id, value: results[id - 1]!.shares[0]! }, new Uint8Array(32)));
    expect(() => recoverSignature(ten, 11)).toThrow(/threshold is 11/);
  }, 60_000);

  it("disqualifies a dealer sending bad shares, and still completes", async () => {
    const { results } = await dkgOverLibp2p(4, 2, (i) =>
      i === 1 ? { faulty: { shares: (to: number, shares: bigint[]) => (to === 2 ? shares.map((s) => add(s, 7n)) : shares) } } : {},
    );
    for (const r of results) expect(r.disqualified).toEqual([{ operator: "op-1", reason: "its shares for op-2 do not match its commitments" }]);
    for (let v = 0; v < 2; v++) expect(thresholdSigns(results, someIds(4, 3), v)).toBe(true);
  });

  it("refuses a peer outside the definition, which cannot disturb the ceremony", async () => {
    const { identities, definition } = await loopbackCluster(4, { numValidators: 1 });
    const started = await Promise.all(identities.map((identity) => startHost(definition, identity)));
    const outsider = generateIdentity();
    const [port] = await freePorts(1);
    // The outsider knows the operators' addresses and would let them in; they do not let it in.
    const intruder = new ClusterHost({
      identity: outsider,
      operators: [...definition.operators, { name: "intruder", peerId: outsider.peerId.toString(), multiaddrs: [`/ip4/127.0.0.1/tcp/${port}`] }],
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
      registry: new Registry(),
      redial: { initialMs: 1_000, maxMs: 1_000 },
    });
    await intruder.start();
    try {
      const ceremonies = Promise.allSettled(identities.map((identity, i) => runCeremony({ definition, identity, network: started[i]!.network })));
      for (const op of definition.operators) {
        await expect(intruder.send(op.peerId, PROTOCOLS.hello, { ceremony: ceremonyId(definition), ack: false }, { timeoutMs: 2_000 })).rejects.toBeInstanceOf(P2pError);
      }
      const results = fulfilled(await ceremonies);
      expect(new Set(results.map((r) => r.lock.lockHash)).size).toBe(1);
      for (const { host } of started) expect(host.peers.map((p) => p.name)).not.toContain("intruder");
    } finally {
      await intruder.stop();
      await Promise.all(started.map(({ host }) => host.stop()));
    }
  });
});

describe("resharing over libp2p on 127.0.0.1", () => {
  /** Reshares `old` to `identities` over libp2p; old operators deal the shares they hold. */
  async function reshareOverLibp2p(old: { identities: ReturnType<typeof generateIdentity>[]; results: CeremonyResult[] }, identities: ReturnType<typeof generateIdentity>[]) {
    const lock = old.results[0]!.lock;
    const ports = await freePorts(identities.length);
    const definition = await testDefinition(identities, { numValidators: lock.validators.length, ports, name: "resharing" });
    const outcomes = await runOverLibp2p(definition, identities, (i) => {
      const oldIndex = old.identities.indexOf(identities[i]!);
      return { reshare: { lock, shares: oldIndex >= 0 ? old.results[oldIndex]!.shares : undefined } };
    });
    return fulfilled(outcomes);
  }

  it("4 -> 7 operators: same validator keys, new threshold 5, the new shares sign", async () => {
    const old = await dkgOverLibp2p(4, 2);
    const identities = [...old.identities, ...Array.from({ length: 3 }, generateIdentity)];
    const results = await reshareOverLibp2p(old, identities);
    const lock = results[0]!.lock;
    expect(lock.definition.threshold).toBe(5);
    expect(lock.validators.map((v) => v.pubkey)).toEqual(old.results[0]!.lock.validators.map((v) => v.pubkey));
    expect(lock.predecessor).toBe(old.results[0]!.lock.lockHash);
    for (let v = 0; v < 2; v++) {
      expect(thresholdSigns(results, someIds(7, 5), v)).toBe(true);
      expect(thresholdSigns(results, [3, 4, 5, 6, 7], v)).toBe(true);
    }
  }, 60_000);

  it("replacing one operator of 4/3: same keys, the newcomer's share signs", async () => {
    const old = await dkgOverLibp2p(4, 2);
    const identities = [old.identities[0]!, generateIdentity(), old.identities[2]!, old.identities[3]!];
    const results = await reshareOverLibp2p(old, identities);
    const lock = results[0]!.lock;
    expect(lock.validators.map((v) => v.pubkey)).toEqual(old.results[0]!.lock.validators.map((v) => v.pubkey));
    for (let v = 0; v < 2; v++) {
      expect(thresholdSigns(results, [1, 2, 3], v)).toBe(true);
      expect(thresholdSigns(results, [2, 3, 4], v)).toBe(true);
    }
  }, 60_000);
});
