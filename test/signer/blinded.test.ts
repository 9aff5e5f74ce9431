/**
 * Blinded blocks (a builder's payload, as MEV-boost gives) on a 4-node cluster (t = 3) over real
 * libp2p: the beacon double in builder mode answers v3 block production blinded; the cluster
 * agrees on the blinded block, signs it by its root (the full block's) and publishes it to
 * blinded_blocks. Checked independently of the signer (core/eth's domains, blst).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ForkName } from "@lodestar/params";
import type { Network } from "../../services/core/eth/index.js";
import { toHex } from "../../services/core/hex.js";
import { type TestCluster, startTestCluster } from "../../services/signer/testing.js";
import { BeaconDouble } from "../doubles/beacon/double.js";
import { interopSecretScalar } from "../system/lodestar/interop.js";
import { expectedDuties, networkOf, submittedBlindedBlocks, submittedBlocks, untilSlot } from "./chain.js";

const VALIDATORS = [0, 1];
const SLOT_MS = 1000;
const SLOTS_PER_EPOCH = 4;
const GVR = new Uint8Array(32).fill(0x42);

describe.each([ForkName.electra, ForkName.capella])("blinded block proposals, %s", (fork) => {
  let double: BeaconDouble;
  let cluster: TestCluster;
  let network: Network;
  // Epoch 1: past the genesis epoch's rush. With 4 validators in the chain, 0 and 1 propose slots 4 and 5.
  const [from, to] = [SLOTS_PER_EPOCH, 2 * SLOTS_PER_EPOCH];

  beforeAll(async () => {
    double = await BeaconDouble.start({ slotMs: SLOT_MS, slotsPerEpoch: SLOTS_PER_EPOCH, validators: 4, fork, genesisDelayMs: 6_000 });
    double.builder = true;
    cluster = await startTestCluster({
      n: 4,
      threshold: 3,
      secrets: VALIDATORS.map(interopSecretScalar),
      beaconUrl: double.url,
      genesisForkVersion: "0x00000001",
      genesisValidatorsRoot: GVR,
      duties: ["randao", "proposer"],
      timing: { roundTimeoutMs: 200, dutyDeadlineMs: 2 * SLOTS_PER_EPOCH * SLOT_MS },
    });
    await cluster.waitConnected(30_000);
    network = await networkOf(double);
    // Past the epoch's last proposal by an epoch: each was submitted or its deadline is near.
    await untilSlot(double, to + SLOTS_PER_EPOCH);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await double?.stop();
  });

  it("publishes one signed blinded block per proposal, verified against the validator key, and no full block", () => {
    const expected = expectedDuties(double, VALIDATORS, from, to).blocks;
    expect(expected.map((d) => d.slot)).toEqual([4, 5]);
    const blinded = submittedBlindedBlocks(double, network).filter((b) => b.slot >= from && b.slot < to);
    for (const d of expected) {
      const mine = blinded.filter((b) => b.slot === d.slot);
      // Every node that recovers submits: the same block, once or more.
      expect(mine.length).toBeGreaterThan(0);
      expect(new Set(mine.map((b) => b.root)).size).toBe(1);
      expect(mine.every((b) => b.validator === d.validator && b.valid)).toBe(true);
    }
    expect(submittedBlocks(double, network)).toEqual([]);
  });

  it("records the blinded block's signing root, and no other, in the slashing protection of the nodes that signed it", async () => {
    const blinded = submittedBlindedBlocks(double, network).filter((b) => b.slot >= from && b.slot < to);
    expect(blinded.length).toBeGreaterThan(0);
    for (const b of blinded) {
      const pubkey = toHex(double.pubkeys[b.validator]!);
      const exports = await Promise.all(cluster.protections.map((p) => p.exportInterchange()));
      const records = exports.flatMap((e) => e.validators.find((v) => v.pubkey === pubkey)?.blocks.filter((r) => r.slot === b.slot) ?? []);
      // At least t nodes signed it (its signature was recovered); a node that was late may not have.
      expect(records.length).toBeGreaterThanOrEqual(3);
      expect(records.map((r) => r.signingRoot)).toEqual(records.map(() => b.signingRoot));
    }
  });
});
