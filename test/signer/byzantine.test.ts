/**
 * Byzantine operators and a restart, on a 16-node cluster with t = 11: operators 0-10 run
 * validator nodes, operators 11-15 are byzantine (raw hosts with their key shares, that propose
 * what they like to whom they like and sign anything). One validator attests in every epoch of
 * the double (1 s slots, 2 slots an epoch); its duties at slots 12, 28 and 44 have byzantine
 * leaders for rounds 0 to 3 (leader = (slot + round) mod 16), and an honest one from round 4
 * (about 6 s into the duty, with 1 s rounds).
 *
 * - slot 12: conflicting proposals in successive rounds, X to six honest nodes then Y to all:
 *   X gathers 6 + 5 partials and is signed, Y never more than 5 + 5.
 * - slot 28: a surround vote, a malformed proposal and data for another slot get no partial.
 * - slot 44: a node killed right after signing and restarted on the same slashing protection file
 *   refuses the surround vote it refused and the data conflicting with what it signed, and signs
 *   again only what it signed.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ForkName } from "@lodestar/params";
import { ssz, type phase0 } from "@lodestar/types";
import { Registry } from "prom-client";
import { secretKeyFromScalar } from "../../services/core/crypto/index.js";
import { BeaconClient } from "../../services/core/eth/beacon/index.js";
import { toHex } from "../../services/core/hex.js";
import { ClusterHost } from "../../services/core/p2p/host.js";
import { Chain } from "../../services/signer/chain.js";
import { type DutyId, dutyKey, fromSszDutyId, toSszDutyId } from "../../services/signer/duties.js";
import { attestationSigningRoot } from "../../services/signer/duty/attestation.js";
import { PartialProtocol, ProposalProtocol } from "../../services/signer/protocols.js";
import { type TestCluster, startTestCluster } from "../../services/signer/testing.js";
import { BeaconDouble } from "../doubles/beacon/double.js";
import { interopSecretScalar } from "../system/lodestar/interop.js";
import { eventually, networkOf, sleep, submittedAttestations, untilSlot } from "./chain.js";

const N = 16;
const T = 11;
const HONEST = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const BYZANTINE = [11, 12, 13, 14, 15];
const SLOT_MS = 1000;

interface Seen {
  from: number;
  duty: string;
  root: string;
}

describe("byzantine leaders and a restart (16 nodes, t = 11, 5 byzantine)", () => {
  let double: BeaconDouble;
  let cluster: TestCluster;
  let chain: Chain;
  const byzantine = new Map<number, ClusterHost>();
  /** Every partial signature the byzantine hosts received, from whom. */
  const seen: Seen[] = [];

  beforeAll(async () => {
    double = await BeaconDouble.start({ slotMs: SLOT_MS, slotsPerEpoch: 2, validators: 4, fork: ForkName.electra, genesisDelayMs: 20_000 });
    chain = await Chain.load(new BeaconClient(double.url), Date.now);
    cluster = await startTestCluster({
      n: N,
      threshold: T,
      secrets: [interopSecretScalar(0)],
      beaconUrl: double.url,
      genesisForkVersion: "0x00000001",
      genesisValidatorsRoot: new Uint8Array(32).fill(0x42),
      duties: ["attester"],
      timing: { roundTimeoutMs: 1000, dutyDeadlineMs: 8 * SLOT_MS },
      only: HONEST,
    });
    for (const i of BYZANTINE) {
      const host = new ClusterHost({
        identity: cluster.identities[i]!,
        operators: cluster.lock.definition.operators,
        listen: [`/ip4/127.0.0.1/tcp/${cluster.ports[i]}`],
        registry: new Registry(),
        redial: { initialMs: 50, maxMs: 1_000 },
        dialTimeoutMs: 30_000,
      });
      host.handle(PartialProtocol, (message, from) => {
        seen.push({ from: from.index, duty: dutyKey(fromSszDutyId(message.duty, "partial")), root: toHex(message.signingRoot) });
      });
      host.handle(ProposalProtocol, () => undefined);
      byzantine.set(i, host);
      await host.start();
    }
    await cluster.waitConnected(60_000);
    await Promise.all([...byzantine.values()].map((h) => h.waitForPeers({ peerIds: HONEST.map((i) => cluster.identities[i]!.peerId.toString()), timeoutMs: 60_000 })));
    // Opens every byzantine host's proposal streams now (a proposal of no duty, refused), so
    // that the proposals of the tests arrive in the order they are sent.
    for (const b of BYZANTINE) await propose(b, { type: "attester", slot: 0, validator: 0 }, 0, new Uint8Array(1), new Uint8Array(32), HONEST);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...byzantine.values()].map((h) => h.stop()));
    await cluster?.stop();
    await double?.stop();
  });

  const duty = (slot: number): DutyId => ({ type: "attester", slot, validator: 0 });

  /** The double's attestation data for `slot`, with another head block root when `fork` is given. */
  async function data(slot: number, fork?: number): Promise<phase0.AttestationData> {
    const honest = await new BeaconClient(double.url).attestationData(slot, 0);
    return fork === undefined ? honest : { ...honest, beaconBlockRoot: new Uint8Array(32).fill(fork) };
  }

  /** Byzantine operator `b` proposes `bytes` for `id` in `round`, signed with its share, to `to`. */
  async function propose(b: number, id: DutyId, round: number, bytes: Uint8Array, root: Uint8Array, to: readonly number[]): Promise<void> {
    const partial = secretKeyFromScalar(cluster.shares[b]![0]!).sign(root).toBytes();
    const host = byzantine.get(b)!;
    await Promise.all(to.map((i) => host.send(cluster.identities[i]!.peerId.toString(), ProposalProtocol, { duty: toSszDutyId(id), round, data: bytes, partial })));
  }

  /** Every byzantine operator signs `root` and sends its partial to every honest node. */
  async function signAll(id: DutyId, root: Uint8Array): Promise<void> {
    await Promise.all(
      BYZANTINE.map((b) => byzantine.get(b)!.broadcast(PartialProtocol, { duty: toSszDutyId(id), signingRoot: root, partial: secretKeyFromScalar(cluster.shares[b]![0]!).sign(root).toBytes() })),
    );
  }

  const honestPartials = (id: DutyId, root: Uint8Array) =>
    [...new Set(seen.filter((s) => s.duty === dutyKey(id) && s.root === toHex(root) && HONEST.includes(s.from)).map((s) => s.from))].sort((a, b) => a - b);

  async function refusals(reason: string): Promise<number> {
    let total = 0;
    for (const i of HONEST) {
      const metric = await cluster.registries[i]!.getSingleMetric("nektar_signer_proposals_refused_total")!.get();
      total += metric.values.filter((v) => v.labels.reason === reason).reduce((s, v) => s + v.value, 0);
    }
    return total;
  }

  it("conflicting proposals in successive rounds: at most one reaches t", async () => {
    const id = duty(12);
    await untilSlot(double, 12);
    const x = await data(12, 0xaa);
    const y = await data(12, 0xbb);
    const rootX = attestationSigningRoot(x, chain);
    const rootY = attestationSigningRoot(y, chain);
    const first = HONEST.slice(0, 6);
    await propose(12, id, 0, ssz.phase0.AttestationData.serialize(x), rootX, first);
    await sleep(300);
    await propose(13, id, 1, ssz.phase0.AttestationData.serialize(y), rootY, HONEST);
    await signAll(id, rootX);
    await signAll(id, rootY);
    await untilSlot(double, 12 + 3);

    expect(honestPartials(id, rootX)).toEqual(first);
    expect(honestPartials(id, rootY)).toEqual(HONEST.slice(6));
    const submitted = submittedAttestations(double, await networkOf(double)).filter((a) => a.data.slot === 12);
    expect(submitted.length).toBeGreaterThan(0);
    expect(submitted.every((a) => a.valid && a.dataRoot === toHex(ssz.phase0.AttestationData.hashTreeRoot(x)))).toBe(true);
  }, 60_000);

  it("a surround vote, malformed data and data for another slot get no partial", async () => {
    const id = duty(28);
    await untilSlot(double, 28);
    const refusedBefore = { slashing: await refusals("slashing_protection"), invalid: await refusals("invalid_data") };
    // Honest nodes signed (12, 13) at slot 26, (11, 12) before: source 0, target 14 surrounds them.
    const surround = { ...(await data(28)), source: { epoch: 0, root: new Uint8Array(32) } };
    const rootS = attestationSigningRoot(surround, chain);
    await propose(12, id, 0, ssz.phase0.AttestationData.serialize(surround), rootS, HONEST);
    const otherSlot = await data(27);
    await propose(13, id, 1, ssz.phase0.AttestationData.serialize(otherSlot), attestationSigningRoot(otherSlot, chain), HONEST);
    await propose(13, id, 1, new Uint8Array([1, 2, 3]), new Uint8Array(32), HONEST);
    await untilSlot(double, 28 + 7);

    expect(honestPartials(id, rootS)).toEqual([]);
    expect(honestPartials(id, attestationSigningRoot(otherSlot, chain))).toEqual([]);
    expect((await refusals("slashing_protection")) - refusedBefore.slashing).toBe(HONEST.length);
    expect((await refusals("invalid_data")) - refusedBefore.invalid).toBe(2 * HONEST.length);
    // The honest leader of round 4 still got the duty done, with the honest data.
    const honest = await data(28);
    const submitted = submittedAttestations(double, await networkOf(double)).filter((a) => a.data.slot === 28);
    expect(submitted.length).toBeGreaterThan(0);
    expect(submitted.every((a) => a.valid && a.dataRoot === toHex(ssz.phase0.AttestationData.hashTreeRoot(honest)))).toBe(true);
  }, 60_000);

  it("a node killed mid-duty and restarted refuses what it refused and what conflicts with what it signed", async () => {
    const id = duty(44);
    const victim = 5;
    await untilSlot(double, 44);
    const surround = { ...(await data(44)), source: { epoch: 0, root: new Uint8Array(32) } };
    const x = await data(44, 0xcc);
    const y = await data(44, 0xdd);
    const refusedByVictim = async () => {
      const metric = await cluster.registries[victim]!.getSingleMetric("nektar_signer_proposals_refused_total")!.get();
      return metric.values.filter((v) => v.labels.reason === "slashing_protection").reduce((s, v) => s + v.value, 0);
    };
    const [rootS, rootX, rootY] = [surround, x, y].map((d) => attestationSigningRoot(d, chain)) as [Uint8Array, Uint8Array, Uint8Array];
    const bytes = (d: phase0.AttestationData) => ssz.phase0.AttestationData.serialize(d);

    // One after the other: a node checks proposals for one duty in turn, the first claims it.
    const refusedBefore = await refusedByVictim();
    await propose(12, id, 0, bytes(surround), rootS, [victim]);
    await eventually(async () => expect(await refusedByVictim()).toBe(refusedBefore + 1));
    await propose(12, id, 0, bytes(x), rootX, [victim]);
    await eventually(() => expect(honestPartials(id, rootX)).toEqual([victim]));
    expect(honestPartials(id, rootS)).toEqual([]);

    await cluster.restartNode(victim);
    const victimPeer = cluster.identities[victim]!.peerId.toString();
    await byzantine.get(13)!.waitForPeers({ peerIds: [victimPeer], timeoutMs: 20_000 });
    const before = seen.length;
    await propose(13, id, 1, bytes(surround), rootS, [victim]);
    await eventually(async () => expect(await refusedByVictim()).toBeGreaterThanOrEqual(1));
    await propose(13, id, 1, bytes(y), rootY, [victim]);
    await eventually(async () => expect(await refusedByVictim()).toBeGreaterThanOrEqual(2));
    await propose(13, id, 1, bytes(x), rootX, [victim]);
    const after = () => seen.slice(before).filter((s) => s.from === victim && s.duty === dutyKey(id));
    await eventually(() => expect(after().map((s) => s.root)).toContain(toHex(rootX)));
    await sleep(500);
    expect(after().map((s) => s.root)).not.toContain(toHex(rootY));
    expect(after().map((s) => s.root)).not.toContain(toHex(rootS));
    // The surround vote and Y (the honest leader's data may come too, and be refused as well).
    expect(await refusedByVictim()).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
