/**
 * The Beacon API client and the dev chain harness against a real beacon node: validator 6 of a
 * Lodestar 1.5.1 dev chain attests and aggregates through BeaconClient, signed with its whole
 * interop key (the distributed validator replaces that signer later), and its vote is included
 * in a block. Lodestar's own validator client runs validators 0-5.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { BitArray } from "@chainsafe/ssz";
import { ForkName } from "@lodestar/params";
import { ssz, type phase0 } from "@lodestar/types";
import { setTimeout as sleep } from "node:timers/promises";
import { BeaconApiError, BeaconClient, BeaconNodes, headEvents, type AttesterDuty } from "../../../services/core/eth/beacon/index.js";
import { computeDomain, computeSigningRoot, DOMAIN_AGGREGATE_AND_PROOF, DOMAIN_BEACON_ATTESTER, DOMAIN_SELECTION_PROOF } from "../../../services/core/eth/domains.js";
import { forkAtEpoch, type Network } from "../../../services/core/eth/networks.js";
import { toHex } from "../../../services/core/hex.js";
import { startLodestarDevChain, type LodestarDevChain } from "./devchain.js";
import { interopSecretKey } from "./interop.js";

const SLOTS_PER_EPOCH = 8; // minimal preset
const VALIDATOR = 6;

describe("a Lodestar 1.5.1 dev chain through the Beacon API client", () => {
  let chain: LodestarDevChain;
  let client: BeaconClient;
  let network: Network;

  /** Resolves at `fraction` of the way into `slot`. */
  const untilSlot = async (slot: number, fraction = 0) => {
    const at = (chain.genesisTime + (slot + fraction) * chain.secondsPerSlot) * 1000;
    await sleep(Math.max(0, at - Date.now()));
  };
  const currentSlot = () => Math.floor((Date.now() / 1000 - chain.genesisTime) / chain.secondsPerSlot);
  const domain = (type: Uint8Array, epoch: number) => computeDomain(type, forkAtEpoch(network, epoch).version, network.genesisValidatorsRoot!);

  beforeAll(async () => {
    chain = await startLodestarDevChain({ genesisValidators: 8, startValidators: "0..5", secondsPerSlot: 2 });
    // Through the failover wrapper, as the validator will use it, with one node.
    client = new BeaconClient(new BeaconNodes([chain.restUrl]));
  }, 90_000);
  afterAll(() => chain?.stop());

  it("serves genesis, its version, and a network with Altair from genesis", async () => {
    const genesis = await client.genesis();
    expect(genesis.genesisTime).toBe(chain.genesisTime);
    expect(await client.nodeVersion()).toMatch(/^Lodestar\/v1\.5\.1/);
    network = await client.network();
    expect(forkAtEpoch(network, 0).name).toBe(ForkName.altair);
    expect((await client.spec()).SECONDS_PER_SLOT).toBe("2");
  });

  it("knows validators 6 and 7 by their interop keys, active from genesis", async () => {
    const validators = await client.stateValidators([interopSecretKey(6).toPublicKey().toBytes(), 7]);
    expect(validators.map((v) => [v.index, v.status])).toEqual([
      [6, "active_ongoing"],
      [7, "active_ongoing"],
    ]);
    expect(toHex(validators[0]!.validator.pubkey)).toBe(toHex(interopSecretKey(6).toPublicKey().toBytes()));
  });

  it("serves proposer and sync committee duties, and takes a sync committee subscription", async () => {
    const proposers = await client.proposerDuties(0);
    expect(proposers.duties.map((d) => d.slot)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const duty of proposers.duties) {
      expect(toHex(duty.pubkey)).toBe(toHex(interopSecretKey(duty.validatorIndex).toPublicKey().toBytes()));
    }
    // Minimal preset: a sync committee of 32 drawn from 8 validators holds each several times.
    const sync = await client.syncDuties(0, [6, 7]);
    expect(sync.map((d) => d.validatorIndex)).toEqual([6, 7]);
    expect(sync[0]!.validatorSyncCommitteeIndices.length).toBeGreaterThan(0);
    await client.subscribeToSyncCommittees([{ validatorIndex: 6, syncCommitteeIndices: sync[0]!.validatorSyncCommitteeIndices, untilEpoch: 8 }]);
  });

  it("streams head events as blocks arrive", async () => {
    const abort = new AbortController();
    // Slots whose proposer is validator 6 or 7 (ours, idle here) have no block and no event.
    const timer = setTimeout(() => abort.abort(), 15_000);
    let event;
    for await (event of headEvents(chain.restUrl, abort.signal)) break;
    clearTimeout(timer);
    if (event === undefined) throw new Error(`no head event in 15 s:\n${chain.logTail()}`);
    expect(toHex(await client.blockRoot(event.slot))).toBe(toHex(event.block));
  }, 20_000);

  it("takes validator 6's attestation and aggregate, and includes its vote in a block", async () => {
    network ??= await client.network();
    // Next epoch's duty: always ahead of us, at most two epochs (32 s) away. A node serves
    // duties up to one epoch ahead of its clock, which starts at genesis (a few seconds away).
    await untilSlot(0);
    const epoch = Math.floor(currentSlot() / SLOTS_PER_EPOCH) + 1;
    const { duties } = await client.attesterDuties(epoch, [6, 7]);
    expect(duties.map((d) => d.validatorIndex)).toEqual([6, 7]);
    const duty = duties[0] as AttesterDuty;
    expect(Math.floor(duty.slot / SLOTS_PER_EPOCH)).toBe(epoch);
    await client.subscribeToBeaconCommittees([
      { validatorIndex: VALIDATOR, committeeIndex: duty.committeeIndex, committeesAtSlot: duty.committeesAtSlot, slot: duty.slot, isAggregator: true },
    ]);
    const key = interopSecretKey(VALIDATOR);

    // A third into the slot, once the slot's block is in: attest to it.
    await untilSlot(duty.slot, 1 / 3);
    const data = await client.attestationData(duty.slot, duty.committeeIndex);
    expect(data.slot).toBe(duty.slot);
    expect(data.target.epoch).toBe(epoch);
    const attestation: phase0.Attestation = {
      aggregationBits: BitArray.fromSingleBit(duty.committeeLength, duty.validatorCommitteeIndex),
      data,
      signature: key.sign(computeSigningRoot(ssz.phase0.AttestationData, data, domain(DOMAIN_BEACON_ATTESTER, epoch))).toBytes(),
    };
    await client.submitAttestations(ForkName.altair, [attestation]);

    // Two thirds in: aggregate. With one validator per committee here, every member is an
    // aggregator (committee length / 16 rounds to a modulo of 1), so the selection proof qualifies.
    await untilSlot(duty.slot, 2 / 3);
    const dataRoot = ssz.phase0.AttestationData.hashTreeRoot(data);
    const aggregate = await client.aggregateAttestation(ForkName.altair, duty.slot, dataRoot, duty.committeeIndex);
    expect(aggregate.aggregationBits.get(duty.validatorCommitteeIndex)).toBe(true);
    const selectionProof = key.sign(computeSigningRoot(ssz.Slot, duty.slot, domain(DOMAIN_SELECTION_PROOF, epoch))).toBytes();
    const message: phase0.AggregateAndProof = { aggregatorIndex: VALIDATOR, aggregate, selectionProof };
    const signature = key.sign(computeSigningRoot(ssz.phase0.AggregateAndProof, message, domain(DOMAIN_AGGREGATE_AND_PROOF, epoch))).toBytes();
    await client.submitAggregateAndProofs(ForkName.altair, [{ message, signature }]);

    // Included: a later block carries an attestation of this data with validator 6's bit set.
    const included = async (): Promise<number | undefined> => {
      for (let slot = duty.slot + 1; slot <= Math.min(currentSlot(), duty.slot + 4); slot++) {
        // A skipped slot has no block: 404.
        const attestations = await client.blockAttestations(ForkName.altair, slot).catch((error: unknown) => {
          if (error instanceof BeaconApiError && error.status === 404) return [];
          throw error;
        });
        const ours = attestations.find(
          (a) => toHex(ssz.phase0.AttestationData.hashTreeRoot(a.data)) === toHex(dataRoot) && a.aggregationBits.get(duty.validatorCommitteeIndex),
        );
        if (ours !== undefined) return slot;
      }
      return undefined;
    };
    let inclusionSlot: number | undefined;
    while (inclusionSlot === undefined && currentSlot() <= duty.slot + 4) {
      await untilSlot(currentSlot() + 1, 1 / 4);
      inclusionSlot = await included();
    }
    if (inclusionSlot === undefined) throw new Error(`validator 6's attestation of slot ${duty.slot} was not included by slot ${duty.slot + 4}:\n${chain.logTail()}`);
    expect(inclusionSlot).toBeGreaterThan(duty.slot);
  }, 90_000);
});
