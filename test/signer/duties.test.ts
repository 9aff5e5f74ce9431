/**
 * Every duty type on small clusters (4 nodes, t = 3) over real libp2p, against the beacon double:
 * Electra formats (attestations, blocks, aggregation, sync committee messages and contributions,
 * builder registrations), Altair formats (phase0-style attestations with aggregation bits, v2
 * block production), and remoteSign for an external validator client. Everything the double
 * receives is verified against the validator's key with core/eth's domains.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { verify } from "@chainsafe/blst";
import { ForkName } from "@lodestar/params";
import { ssz } from "@lodestar/types";
import { parsePublicKey, parseSignature, secretKeyFromScalar } from "../../services/core/crypto/index.js";
import {
  DOMAIN_AGGREGATE_AND_PROOF,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_BEACON_PROPOSER,
  DOMAIN_CONTRIBUTION_AND_PROOF,
  DOMAIN_RANDAO,
  DOMAIN_SYNC_COMMITTEE,
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF,
  computeBuilderDomain,
  computeDomainAtEpoch,
  computeSigningRoot,
  computeVoluntaryExitDomain,
  type Network,
} from "../../services/core/eth/index.js";
import { toHex } from "../../services/core/hex.js";
import { isSyncAggregator } from "../../services/signer/duty/sync.js";
import { RemoteSignError } from "../../services/signer/remote.js";
import { type TestCluster, startTestCluster } from "../../services/signer/testing.js";
import { BeaconDouble } from "../doubles/beacon/double.js";
import { interopSecretScalar } from "../system/lodestar/interop.js";
import { expectedDuties, networkOf, submittedAttestations, submittedBlocks, untilSlot } from "./chain.js";

const VALIDATORS = [0, 1];
const SLOT_MS = 1000;
const SLOTS_PER_EPOCH = 4;
const GVR = new Uint8Array(32).fill(0x42);

function valid(root: Uint8Array, validator: number, signature: Uint8Array): boolean {
  try {
    return verify(root, parsePublicKey(secretKeyFromScalar(interopSecretScalar(validator)).toPublicKey().toBytes(), "pubkey"), parseSignature(signature, "signature"));
  } catch {
    return false;
  }
}

async function cluster4(fork: ForkName, options: { duties?: Parameters<typeof startTestCluster>[0]["duties"]; validatorClient?: boolean } = {}) {
  const double = await BeaconDouble.start({ slotMs: SLOT_MS, slotsPerEpoch: SLOTS_PER_EPOCH, validators: 8, fork, genesisDelayMs: 6_000 });
  const cluster = await startTestCluster({
    n: 4,
    threshold: 3,
    secrets: VALIDATORS.map(interopSecretScalar),
    beaconUrl: double.url,
    genesisForkVersion: "0x00000001",
    genesisValidatorsRoot: GVR,
    timing: { roundTimeoutMs: 200, dutyDeadlineMs: 2 * SLOTS_PER_EPOCH * SLOT_MS },
    ...options,
  });
  await cluster.waitConnected(30_000);
  return { double, cluster, network: await networkOf(double) };
}

/** The epochs [1, 3): past the genesis epoch's rush, and past their duties' deadline when it returns. */
async function epochsOneAndTwo(double: BeaconDouble): Promise<[number, number]> {
  const [from, to] = [SLOTS_PER_EPOCH, 3 * SLOTS_PER_EPOCH];
  await untilSlot(double, to + 2 * SLOTS_PER_EPOCH);
  return [from, to];
}

describe("every duty, Electra formats", () => {
  let double: BeaconDouble;
  let cluster: TestCluster;
  let network: Network;
  let range: [number, number];

  beforeAll(async () => {
    ({ double, cluster, network } = await cluster4(ForkName.electra));
    range = await epochsOneAndTwo(double);
  }, 90_000);
  afterAll(async () => {
    await cluster?.stop();
    await double?.stop();
  });

  const inRange = (slot: number) => slot >= range[0] && slot < range[1];

  it("attests and proposes (RANDAO first), all verified", () => {
    const expected = expectedDuties(double, VALIDATORS, ...range);
    const attestations = submittedAttestations(double, network).filter((a) => inRange(a.data.slot) && a.valid);
    const blocks = submittedBlocks(double, network).filter((b) => inRange(b.slot) && b.valid);
    expect(expected.attestations.every((d) => attestations.some((a) => a.validator === d.validator && a.data.slot === d.slot))).toBe(true);
    expect(expected.blocks.length).toBeGreaterThan(0);
    expect(expected.blocks.every((d) => blocks.some((b) => b.validator === d.validator && b.slot === d.slot))).toBe(true);
  });

  it("aggregates: a selection proof and an aggregate and proof for every attestation", () => {
    const expected = expectedDuties(double, VALIDATORS, ...range).attestations;
    const aggregates = double
      .submitted("POST /eth/v2/validator/aggregate_and_proofs")
      .flat()
      .map((json) => ssz.electra.SignedAggregateAndProof.fromJson(json))
      .filter((a) => inRange(a.message.aggregate.data.slot));
    for (const d of expected) {
      const found = aggregates.filter((a) => a.message.aggregatorIndex === d.validator && a.message.aggregate.data.slot === d.slot);
      expect(found.length).toBeGreaterThan(0);
      const { message, signature } = found[0]!;
      const epoch = Math.floor(d.slot / SLOTS_PER_EPOCH);
      expect(valid(computeSigningRoot(ssz.electra.AggregateAndProof, message, computeDomainAtEpoch(network, DOMAIN_AGGREGATE_AND_PROOF, epoch)), d.validator, signature)).toBe(true);
      // The aggregate is the double's aggregate of the cluster's attestation, whose signature it carries.
      expect(valid(computeSigningRoot(ssz.phase0.AttestationData, message.aggregate.data, computeDomainAtEpoch(network, DOMAIN_BEACON_ATTESTER, epoch)), d.validator, message.aggregate.signature)).toBe(true);
    }
  });

  it("sends a sync committee message every slot, and a contribution when selected", () => {
    const messages = double
      .submitted("POST /eth/v1/beacon/pool/sync_committees")
      .flat()
      .map((json) => ssz.altair.SyncCommitteeMessage.fromJson(json))
      .filter((m) => inRange(m.slot));
    const contributions = double
      .submitted("POST /eth/v1/validator/contribution_and_proofs")
      .flat()
      .map((json) => ssz.altair.SignedContributionAndProof.fromJson(json))
      .filter((c) => inRange(c.message.contribution.slot));
    // With the mainnet preset one in eight selection proofs selects; in this range, one does.
    expect(contributions.length).toBeGreaterThan(0);
    for (let slot = range[0]; slot < range[1]; slot++) {
      const epoch = Math.floor(slot / SLOTS_PER_EPOCH);
      for (const v of VALIDATORS) {
        const message = messages.find((m) => m.slot === slot && m.validatorIndex === v);
        expect(message).toBeDefined();
        expect(valid(computeSigningRoot(ssz.Root, message!.beaconBlockRoot, computeDomainAtEpoch(network, DOMAIN_SYNC_COMMITTEE, epoch)), v, message!.signature)).toBe(true);
        // Whether the validator aggregates, from its selection proof made with the whole key.
        const selection = { slot, subcommitteeIndex: 0 };
        const proof = secretKeyFromScalar(interopSecretScalar(v))
          .sign(computeSigningRoot(ssz.altair.SyncAggregatorSelectionData, selection, computeDomainAtEpoch(network, DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF, epoch)))
          .toBytes();
        const contribution = contributions.find((c) => c.message.contribution.slot === slot && c.message.aggregatorIndex === v);
        expect(contribution !== undefined).toBe(isSyncAggregator(proof));
        if (contribution !== undefined) {
          expect(toHex(contribution.message.selectionProof)).toBe(toHex(proof));
          expect(valid(computeSigningRoot(ssz.altair.ContributionAndProof, contribution.message, computeDomainAtEpoch(network, DOMAIN_CONTRIBUTION_AND_PROOF, epoch)), v, contribution.signature)).toBe(true);
        }
      }
    }
  });

  it("registers with the builder network every epoch, the cluster's fee recipient and a timestamp every node agrees on", () => {
    const registrations = double
      .submitted("POST /eth/v1/validator/register_validator")
      .flat()
      .map((json) => ssz.bellatrix.SignedValidatorRegistrationV1.fromJson(json));
    for (const v of VALIDATORS) {
      const pubkey = toHex(secretKeyFromScalar(interopSecretScalar(v)).toPublicKey().toBytes());
      const mine = registrations.filter((r) => toHex(r.message.pubkey) === pubkey);
      expect(new Set(mine.map((r) => r.message.timestamp)).size).toBeGreaterThanOrEqual(2);
      for (const r of mine) {
        expect(toHex(r.message.feeRecipient)).toBe(cluster.lock.definition.feeRecipient.toLowerCase());
        expect(valid(computeSigningRoot(ssz.bellatrix.ValidatorRegistrationV1, r.message, computeBuilderDomain(network.genesisForkVersion)), v, r.signature)).toBe(true);
      }
    }
  });
});

describe("attestations and blocks, Altair formats (aggregation bits, v2 block production)", () => {
  let double: BeaconDouble;
  let cluster: TestCluster;
  let network: Network;

  beforeAll(async () => {
    ({ double, cluster, network } = await cluster4(ForkName.altair, { duties: ["attester", "randao", "proposer"] }));
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await double?.stop();
  });

  it("attests and proposes in the older formats", async () => {
    const [from, to] = [SLOTS_PER_EPOCH, 2 * SLOTS_PER_EPOCH];
    await untilSlot(double, to + 2 * SLOTS_PER_EPOCH);
    const expected = expectedDuties(double, VALIDATORS, from, to);
    const attestations = submittedAttestations(double, network).filter((a) => a.valid);
    const blocks = submittedBlocks(double, network).filter((b) => b.valid);
    expect(expected.attestations.every((d) => attestations.some((a) => a.validator === d.validator && a.data.slot === d.slot))).toBe(true);
    expect(expected.blocks.every((d) => blocks.some((b) => b.validator === d.validator && b.slot === d.slot))).toBe(true);
    expect(double.submitted("POST /eth/v2/beacon/pool/attestations")).toEqual([]);
  }, 60_000);
});

describe("remoteSign: an external validator client drives the cluster", () => {
  let double: BeaconDouble;
  let cluster: TestCluster;
  let network: Network;
  const pubkey = secretKeyFromScalar(interopSecretScalar(0)).toPublicKey().toBytes();

  beforeAll(async () => {
    ({ double, cluster, network } = await cluster4(ForkName.electra, { validatorClient: false }));
    await untilSlot(double, 2);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await double?.stop();
  });

  it("signs an attestation through any node, and refuses a double vote", async () => {
    const slot = double.currentSlot();
    const epoch = Math.floor(slot / SLOTS_PER_EPOCH);
    const data = { slot, index: 0, beaconBlockRoot: new Uint8Array(32).fill(1), source: { epoch: Math.max(0, epoch - 1), root: new Uint8Array(32) }, target: { epoch, root: new Uint8Array(32).fill(2) } };
    const signature = await cluster.nodes[1]!.remoteSign({ type: "attestation", pubkey, data, genesisValidatorsRoot: GVR });
    expect(valid(computeSigningRoot(ssz.phase0.AttestationData, data, computeDomainAtEpoch(network, DOMAIN_BEACON_ATTESTER, epoch)), 0, signature)).toBe(true);
    // The same data again is fine (a validator client retrying), other data for the target is not.
    await expect(cluster.nodes[2]!.remoteSign({ type: "attestation", pubkey, data })).resolves.toBeInstanceOf(Uint8Array);
    const conflicting = { ...data, beaconBlockRoot: new Uint8Array(32).fill(9) };
    await expect(cluster.nodes[1]!.remoteSign({ type: "attestation", pubkey, data: conflicting })).rejects.toMatchObject({ failure: "slashing_protection" });
  }, 30_000);

  it("signs a block header once per slot, a RANDAO reveal and a voluntary exit", async () => {
    const slot = double.currentSlot() + 1;
    const epoch = Math.floor(slot / SLOTS_PER_EPOCH);
    const header = { slot, proposerIndex: 0, parentRoot: new Uint8Array(32).fill(3), stateRoot: new Uint8Array(32).fill(4), bodyRoot: new Uint8Array(32).fill(5) };
    const signature = await cluster.nodes[0]!.remoteSign({ type: "block", pubkey, header });
    expect(valid(computeSigningRoot(ssz.phase0.BeaconBlockHeader, header, computeDomainAtEpoch(network, DOMAIN_BEACON_PROPOSER, epoch)), 0, signature)).toBe(true);
    const error = await cluster.nodes[3]!.remoteSign({ type: "block", pubkey, header: { ...header, bodyRoot: new Uint8Array(32).fill(6) } }).catch((e: unknown) => e);
    // Node 3 answered node 0's request for the first header: its own slashing protection refuses.
    expect(error).toBeInstanceOf(RemoteSignError);
    expect((error as RemoteSignError).failure).toBe("slashing_protection");

    const reveal = await cluster.nodes[2]!.remoteSign({ type: "randao_reveal", pubkey, epoch });
    expect(valid(computeSigningRoot(ssz.Epoch, epoch, computeDomainAtEpoch(network, DOMAIN_RANDAO, epoch)), 0, reveal)).toBe(true);
    const exit = { epoch, validatorIndex: 0 };
    const exitSignature = await cluster.nodes[2]!.remoteSign({ type: "voluntary_exit", pubkey, exit });
    expect(valid(computeSigningRoot(ssz.phase0.VoluntaryExit, exit, computeVoluntaryExitDomain(network)), 0, exitSignature)).toBe(true);
  }, 30_000);

  it("refuses an unknown validator and another network", async () => {
    const other = secretKeyFromScalar(interopSecretScalar(5)).toPublicKey().toBytes();
    await expect(cluster.nodes[0]!.remoteSign({ type: "randao_reveal", pubkey: other, epoch: 0 })).rejects.toMatchObject({ failure: "unknown_validator" });
    await expect(cluster.nodes[0]!.remoteSign({ type: "randao_reveal", pubkey, epoch: 0, genesisValidatorsRoot: new Uint8Array(32) })).rejects.toMatchObject({ failure: "invalid_request" });
  });
});
