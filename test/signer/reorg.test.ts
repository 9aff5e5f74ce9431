/**
 * A 4-node cluster (t = 3, real libp2p on loopback, attester duties, Electra formats) following
 * the beacon double through a scripted re-org and a late deposit:
 * - a re-org replaces the block the next epoch's attester duties depend on, moving each
 *   validator one slot: the cluster attests at the new slots and not at the old ones, and every
 *   node counts the refetch;
 * - a validator of the lock the chain did not know when the nodes started is deposited: its
 *   duties are done from the epoch after it is known.
 * Everything the double received is verified against the validators' keys, and nothing is slashable.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ForkName } from "@lodestar/params";
import type { Registry } from "prom-client";
import type { Network } from "../../services/core/eth/index.js";
import { type TestCluster, startTestCluster } from "../../services/signer/testing.js";
import { BeaconDouble } from "../doubles/beacon/double.js";
import { interopSecretScalar } from "../system/lodestar/interop.js";
import { type SubmittedAttestation, eventually, networkOf, slashable, submittedAttestations, untilSlot } from "./chain.js";

const SLOT_MS = 1000;
const SLOTS_PER_EPOCH = 4;
const DEADLINE_MS = 2 * SLOTS_PER_EPOCH * SLOT_MS;
/** Interop validators of the lock: the double starts with 0-7, so 8 is deposited later. */
const VALIDATORS = [0, 1, 8];

async function refetched(registry: Registry, reason: string): Promise<number> {
  const metric = await registry.getSingleMetric("nektar_signer_duties_refetched_total")!.get();
  return metric.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe("a cluster following a re-org and a late deposit", () => {
  let double: BeaconDouble;
  let cluster: TestCluster;
  let network: Network;
  /** The epoch in which the test re-orgs and deposits (its second slot). */
  let epoch: number;
  let before: { reorg: number[]; activation: number[] };
  /** Validators 0 and 1's attestation slots in epoch + 1, before and after the re-org. */
  let oldSlots: number[];
  let newSlots: number[];

  const attestations = (validator: number, inEpoch: number): SubmittedAttestation[] =>
    submittedAttestations(double, network).filter((a) => a.validator === validator && Math.floor(a.data.slot / SLOTS_PER_EPOCH) === inEpoch);

  beforeAll(async () => {
    double = await BeaconDouble.start({ slotMs: SLOT_MS, slotsPerEpoch: SLOTS_PER_EPOCH, validators: 8, fork: ForkName.electra, genesisDelayMs: 6_000 });
    network = await networkOf(double);
    cluster = await startTestCluster({
      n: 4,
      threshold: 3,
      secrets: VALIDATORS.map(interopSecretScalar),
      beaconUrl: double.url,
      genesisForkVersion: "0x00000001",
      genesisValidatorsRoot: new Uint8Array(32).fill(0x42),
      duties: ["attester"],
      timing: { roundTimeoutMs: 200, dutyDeadlineMs: DEADLINE_MS },
    });
    await cluster.waitConnected(60_000);

    // An epoch whose start every node saw: epoch + 1's duties are fetched then.
    epoch = Math.max(1, Math.floor(double.currentSlot() / SLOTS_PER_EPOCH) + 2);
    await untilSlot(double, epoch * SLOTS_PER_EPOCH + 1);
    before = {
      reorg: await Promise.all(cluster.registries.map((r) => refetched(r, "reorg"))),
      activation: await Promise.all(cluster.registries.map((r) => refetched(r, "activation"))),
    };
    oldSlots = [0, 1].map((v) => double.attesterSlot(v, epoch + 1)!);
    double.reorg(epoch * SLOTS_PER_EPOCH - 1); // the block epoch + 1's attester duties depend on
    newSlots = [0, 1].map((v) => double.attesterSlot(v, epoch + 1)!);
    expect(double.addValidator()).toBe(8); // active from epoch + 1, known to the nodes as it starts

    // Until epoch + 2's duties are past their deadline.
    await untilSlot(double, (epoch + 3) * SLOTS_PER_EPOCH);
  }, 150_000);

  afterAll(async () => {
    await cluster?.stop();
    await double?.stop();
  });

  it("attests at the slots the re-org moved the duties to, not the old ones, once per validator", async () => {
    expect(newSlots).not.toEqual(oldSlots); // the script did move them
    await eventually(() => {
      for (const v of [0, 1]) expect(new Set(attestations(v, epoch + 1).map((a) => a.data.slot))).toEqual(new Set([newSlots[v]]));
    }, DEADLINE_MS);
    for (const v of [0, 1]) {
      const signed = attestations(v, epoch + 1);
      expect(signed.every((a) => a.valid)).toBe(true);
      expect(new Set(signed.map((a) => a.dataRoot)).size).toBe(1); // every node submitted the one recovered attestation
    }
  });

  it("counts the refetch on every node", async () => {
    expect(before.reorg).toEqual([0, 0, 0, 0]);
    // Epoch (its proposer duties depend on the replaced block, though the cluster has none) and epoch + 1.
    expect(await Promise.all(cluster.registries.map((r) => refetched(r, "reorg")))).toEqual([2, 2, 2, 2]);
  });

  it("does the duties of a validator deposited after start from the epoch after it is known", async () => {
    expect(attestations(8, epoch)).toEqual([]);
    await eventually(() => expect(attestations(8, epoch + 2).map((a) => a.data.slot)).toContain(double.attesterSlot(8, epoch + 2)), DEADLINE_MS);
    const signed = submittedAttestations(double, network).filter((a) => a.validator === 8);
    expect(signed.every((a) => a.valid && a.data.slot === double.attesterSlot(8, Math.floor(a.data.slot / SLOTS_PER_EPOCH)))).toBe(true);
    expect(before.activation).toEqual([0, 0, 0, 0]);
    expect(await Promise.all(cluster.registries.map((r) => refetched(r, "activation")))).toEqual([1, 1, 1, 1]);
  });

  it("signs nothing slashable", () => {
    const signed = submittedAttestations(double, network).map((a) => ({ validator: a.validator, source: a.data.source.epoch, target: a.data.target.epoch, root: a.dataRoot }));
    expect(signed.length).toBeGreaterThan(0);
    expect(slashable(signed, [])).toEqual([]);
  });
});
