/**
 * The heaviest signer test: 16 nodes, t = 11, over real libp2p on loopback, performing the
 * attester and proposer duties (RANDAO reveal first) of three validators over several epochs of
 * the beacon double (2 s slots, 4 slots an epoch, Electra formats). All up: every duty done; 5
 * down: every duty still done; 6 down: no duty done; and through it all nothing slashable
 * signed, by any node's slashing protection record or in anything the beacon node received.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ForkName } from "@lodestar/params";
import type { MetricValueWithName } from "prom-client";
import type { Network } from "../../services/core/eth/index.js";
import { type TestCluster, startTestCluster } from "../../services/signer/testing.js";
import { BeaconDouble } from "../doubles/beacon/double.js";
import { interopSecretScalar } from "../system/lodestar/interop.js";
import { expectedDuties, networkOf, slashable, submittedAttestations, submittedBlocks, untilSlot } from "./chain.js";

const N = 16;
const T = 11;
const VALIDATORS = [0, 1, 2];
const SLOT_MS = 2000;
const SLOTS_PER_EPOCH = 4;
/** A duty must complete within this long from its slot's start (an epoch). */
const DEADLINE_MS = SLOTS_PER_EPOCH * SLOT_MS;
/** Stopped in the "5 down" phase: consecutive, so up to 5 leaders in a row are gone. */
const DOWN = [11, 12, 13, 14, 15];

describe("a 16-node cluster, t = 11", () => {
  let double: BeaconDouble;
  let cluster: TestCluster;
  let network: Network;

  beforeAll(async () => {
    // Genesis once the cluster is up: 16 nodes starting (240 noise handshakes) take a loaded
    // machine a while, and duties then would only add to it.
    double = await BeaconDouble.start({ slotMs: SLOT_MS, slotsPerEpoch: SLOTS_PER_EPOCH, validators: 8, fork: ForkName.electra, genesisDelayMs: 25_000 });
    network = await networkOf(double);
    cluster = await startTestCluster({
      n: N,
      threshold: T,
      secrets: VALIDATORS.map(interopSecretScalar),
      beaconUrl: double.url,
      genesisForkVersion: "0x00000001",
      genesisValidatorsRoot: new Uint8Array(32).fill(0x42),
      duties: ["attester", "randao", "proposer"],
      timing: { roundTimeoutMs: 250, dutyDeadlineMs: DEADLINE_MS },
    });
    await cluster.waitConnected(90_000);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await double?.stop();
  });

  /** Runs the cluster over whole epochs from the next one; returns that slot range once every duty in it is past its deadline. */
  async function epochs(count: number): Promise<[number, number]> {
    // Not the genesis epoch: every node's first duties, first beacon node requests and first
    // partial signatures come at once there, on a machine shared with other work.
    const from = Math.max(SLOTS_PER_EPOCH, (Math.floor(double.currentSlot() / SLOTS_PER_EPOCH) + 1) * SLOTS_PER_EPOCH);
    const to = from + count * SLOTS_PER_EPOCH;
    await untilSlot(double, to + DEADLINE_MS / SLOT_MS);
    return [from, to];
  }

  function done(from: number, to: number) {
    const expected = expectedDuties(double, VALIDATORS, from, to);
    const attestations = submittedAttestations(double, network);
    const blocks = submittedBlocks(double, network);
    const attested = expected.attestations.filter((d) => attestations.some((a) => a.validator === d.validator && a.data.slot === d.slot && a.valid));
    const proposed = expected.blocks.filter((d) => blocks.some((b) => b.validator === d.validator && b.slot === d.slot && b.valid));
    return { expected, attested, proposed, attestations, blocks };
  }

  it("performs every duty with all 16 nodes up", async () => {
    const [from, to] = await epochs(2);
    const { expected, attested, proposed } = done(from, to);
    expect(expected.attestations.length).toBe(6);
    expect(expected.blocks.length).toBeGreaterThanOrEqual(2);
    expect(attested).toEqual(expected.attestations);
    expect(proposed).toEqual(expected.blocks);
  }, 90_000);

  it("performs every duty with 5 nodes down", async () => {
    await Promise.all(DOWN.map((i) => cluster.stopNode(i)));
    const [from, to] = await epochs(2);
    const { expected, attested, proposed } = done(from, to);
    expect(attested).toEqual(expected.attestations);
    expect(proposed).toEqual(expected.blocks);
    // Leaders that are down cost rounds: some duty was decided past round 0.
    const rounds = (await cluster.registries[0]!.getSingleMetric("nektar_signer_consensus_rounds")!.get()).values as MetricValueWithName<string>[];
    const past0 = rounds.filter((v) => v.metricName === "nektar_signer_consensus_rounds_bucket" && v.labels.le === 0).reduce((s, v) => s + v.value, 0);
    const all = rounds.filter((v) => v.metricName === "nektar_signer_consensus_rounds_count").reduce((s, v) => s + v.value, 0);
    expect(all).toBeGreaterThan(past0);
  }, 90_000);

  it("does no duty with 6 nodes down, and says why", async () => {
    await cluster.stopNode(10);
    const [from, to] = await epochs(1);
    const { expected, attested, proposed } = done(from, to);
    expect(expected.attestations.length).toBe(3);
    expect(attested).toEqual([]);
    expect(proposed).toEqual([]);
    // Each node signed and sent its partial, but only 10 partials exist.
    const failed = cluster.nodes[0]!.outcomes().filter((o) => o.id.slot >= from && o.id.slot < to && o.outcome === "failed");
    const attester = failed.filter((o) => o.id.type === "attester");
    expect(attester).toHaveLength(3);
    expect(new Set(attester.map((o) => o.reason))).toEqual(new Set(["par_sig_db_insufficient"]));
  }, 90_000);

  it("never signed anything slashable: no node's record, nothing the beacon node received", async () => {
    const { attestations, blocks } = done(0, 0);
    expect(attestations.length).toBeGreaterThan(0);
    expect(attestations.every((a) => a.valid)).toBe(true);
    expect(blocks.every((b) => b.valid)).toBe(true);
    expect(
      slashable(
        attestations.map((a) => ({ validator: a.validator, source: a.data.source.epoch, target: a.data.target.epoch, root: a.dataRoot })),
        blocks.map((b) => ({ validator: b.validator, slot: b.slot, root: b.root })),
      ),
    ).toEqual([]);
    for (const protection of cluster.protections) {
      const { validators } = await protection.exportInterchange();
      const records = validators.flatMap((v, i) => v.attestations.map((a) => ({ validator: i, source: a.sourceEpoch, target: a.targetEpoch, root: a.signingRoot ?? "" })));
      const signedBlocks = validators.flatMap((v, i) => v.blocks.map((b) => ({ validator: i, slot: b.slot, root: b.signingRoot ?? "" })));
      expect(records.length).toBeGreaterThan(0);
      expect(slashable(records, signedBlocks)).toEqual([]);
    }
  });
});
