import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { BitArray } from "@chainsafe/ssz";
import { DOMAIN_BEACON_ATTESTER, ForkName } from "@lodestar/params";
import { ssz, sszTypesFor, type electra, type phase0 } from "@lodestar/types";
import { fastAggregateVerify, Signature } from "@chainsafe/blst";
import { BeaconDouble } from "../../../../test/doubles/beacon/double.js";
import { interopSecretKey } from "../../../../test/system/lodestar/interop.js";
import { toHex } from "../../hex.js";
import { computeDomain, computeSigningRoot } from "../domains.js";
import { forkAtEpoch } from "../networks.js";
import { BeaconClient, headEvents, type HeadEvent } from "./client.js";
import { BeaconNodes } from "./nodes.js";
import { BeaconApiError, HttpTransport } from "./transport.js";

/** Validator i's attestation for its duty, signed with its whole interop key. */
async function attest(client: BeaconClient, validator: number, slot: number) {
  const network = await client.network();
  const data = await client.attestationData(slot, 0);
  const fork = forkAtEpoch(network, Math.floor(slot / 8));
  const domain = computeDomain(DOMAIN_BEACON_ATTESTER, fork.version, network.genesisValidatorsRoot!);
  const signature = interopSecretKey(validator).sign(computeSigningRoot(ssz.phase0.AttestationData, data, domain)).toBytes();
  return { data, signature, root: computeSigningRoot(ssz.phase0.AttestationData, data, domain) };
}

describe("BeaconClient against the beacon double (Altair: v1 shapes)", () => {
  let double: BeaconDouble;
  let client: BeaconClient;

  beforeAll(async () => {
    double = await BeaconDouble.start({ validators: 16, fork: ForkName.altair });
    client = new BeaconClient(double.url);
  });
  afterAll(() => double.stop());

  it("reads genesis, version, syncing, health and the network's fork schedule", async () => {
    const genesis = await client.genesis();
    expect(genesis.genesisTime).toBe(double.genesisMs / 1000);
    expect(genesis.genesisValidatorsRoot).toHaveLength(32);
    expect(await client.nodeVersion()).toBe("BeaconDouble/v0.1.0");
    expect((await client.syncing()).isSyncing).toBe(false);
    expect(await client.health()).toBe("ready");
    const network = await client.network();
    expect(network.name).toBe("beacon-double");
    expect(forkAtEpoch(network, 5).name).toBe(ForkName.altair);
    expect(toHex(forkAtEpoch(network, 5).version)).toBe(toHex((await client.fork()).currentVersion));
    expect((await client.spec()).SLOT_DURATION_MS).toBe("100");
  });

  it("finds validators by index and by public key", async () => {
    const pubkey = interopSecretKey(7).toPublicKey().toBytes();
    const [byIndex, byKey] = [await client.stateValidators([6, 7]), await client.stateValidators([pubkey])];
    expect(byIndex.map((v) => v.index)).toEqual([6, 7]);
    expect(byKey).toHaveLength(1);
    expect(byKey[0]?.index).toBe(7);
    expect(toHex(byKey[0]!.validator.pubkey)).toBe(toHex(pubkey));
    expect(byKey[0]?.status).toBe("active_ongoing");
    expect(byKey[0]?.balance).toBe(32_000_000_000n);
  });

  it("fetches attester, proposer and sync duties", async () => {
    const attester = await client.attesterDuties(1, [6, 14]);
    expect(attester.duties.map((d) => [d.validatorIndex, d.slot, d.committeeLength, d.validatorCommitteeIndex])).toEqual([
      [6, 14, 2, 0],
      [14, 14, 2, 1],
    ]);
    // Attester duties depend on the last block two epochs back (genesis when there is none), proposer duties on the last one before.
    expect(attester.dependentRoot).toEqual(double.blockRoot(0));
    expect((await client.attesterDuties(3, [6])).dependentRoot).toEqual(double.blockRoot(15));
    const proposer = await client.proposerDuties(2);
    expect(proposer.dependentRoot).toEqual(double.blockRoot(15));
    expect(proposer.duties.map((d) => d.slot)).toEqual([16, 17, 18, 19, 20, 21, 22, 23]);
    expect(proposer.duties[3]?.validatorIndex).toBe(3);
    const sync = await client.syncDuties(0, [2]);
    expect(sync[0]?.validatorSyncCommitteeIndices).toEqual([2]);
  });

  it("submits v1 attestations and gets back their aggregate", async () => {
    const slot = 14; // validators 6 and 14 share its committee
    const [a, b] = [await attest(client, 6, slot), await attest(client, 14, slot)];
    const attestation = (position: number, signature: Uint8Array): phase0.Attestation => ({
      aggregationBits: BitArray.fromSingleBit(2, position),
      data: a.data,
      signature,
    });
    await client.submitAttestations(ForkName.altair, [attestation(0, a.signature), attestation(1, b.signature)]);
    const submitted = double.submitted("POST /eth/v1/beacon/pool/attestations");
    expect(submitted).toHaveLength(1);
    expect(submitted[0]).toHaveLength(2);

    const aggregate = await client.aggregateAttestation(ForkName.altair, slot, ssz.phase0.AttestationData.hashTreeRoot(a.data), 0);
    expect(aggregate.aggregationBits.toBoolArray()).toEqual([true, true]);
    const keys = [interopSecretKey(6).toPublicKey(), interopSecretKey(14).toPublicKey()];
    // The aggregate of both signatures verifies against both keys: the double really aggregated.
    expect(fastAggregateVerify(a.root, keys, Signature.fromBytes(aggregate.signature))).toBe(true);

    const [included] = await client.blockAttestations(ForkName.altair, slot + 1);
    expect(included && ssz.phase0.Attestation.equals(included, aggregate)).toBe(true);
    expect(await client.blockAttestations(ForkName.altair, slot)).toEqual([]);
  });

  it("produces a block with v2 and publishes the signed block with v1", async () => {
    const randao = interopSecretKey(3).sign(new Uint8Array(32)).toBytes();
    const produced = await client.produceBlock(19, randao, new Uint8Array(32).fill(0x61), { legacy: true });
    expect(produced.fork).toBe(ForkName.altair);
    expect(produced.blinded).toBe(false);
    expect(produced.block.slot).toBe(19);
    expect(produced.block.body.randaoReveal).toEqual(randao);
    await client.publishBlock(produced.fork, { message: produced.block, signature: new Uint8Array(96) });
    const published = double.submitted("POST /eth/v1/beacon/blocks") as { message: { slot: string } }[];
    expect(published[0]?.message.slot).toBe("19");
  });

  it("submits sync committee messages, contributions, exits and builder registrations", async () => {
    const root = double.blockRoot(3);
    await client.submitSyncCommitteeMessages([{ slot: 3, beaconBlockRoot: root, validatorIndex: 2, signature: new Uint8Array(96) }]);
    const contribution = await client.syncCommitteeContribution(3, 1, root);
    expect([contribution.slot, contribution.subcommitteeIndex, toHex(contribution.beaconBlockRoot)]).toEqual([3, 1, toHex(root)]);
    await client.submitContributionAndProofs([
      { message: { aggregatorIndex: 2, contribution, selectionProof: new Uint8Array(96) }, signature: new Uint8Array(96) },
    ]);
    await client.submitVoluntaryExit({ message: { epoch: 1, validatorIndex: 5 }, signature: new Uint8Array(96) });
    await client.registerValidators([
      {
        message: { feeRecipient: new Uint8Array(20).fill(1), gasLimit: 30_000_000, timestamp: 1_700_000_000, pubkey: interopSecretKey(1).toPublicKey().toBytes() },
        signature: new Uint8Array(96),
      },
    ]);
    await client.subscribeToBeaconCommittees([{ validatorIndex: 2, committeeIndex: 0, committeesAtSlot: 1, slot: 10, isAggregator: true }]);
    await client.subscribeToSyncCommittees([{ validatorIndex: 2, syncCommitteeIndices: [2], untilEpoch: 8 }]);
    expect(double.submitted("POST /eth/v1/validator/sync_committee_subscriptions")).toEqual([
      [{ validator_index: "2", sync_committee_indices: ["2"], until_epoch: "8" }],
    ]);
    expect(double.submissions.map((s) => s.endpoint)).toEqual(
      expect.arrayContaining([
        "POST /eth/v1/beacon/pool/sync_committees",
        "POST /eth/v1/validator/contribution_and_proofs",
        "POST /eth/v1/beacon/pool/voluntary_exits",
        "POST /eth/v1/validator/register_validator",
        "POST /eth/v1/validator/beacon_committee_subscriptions",
      ]),
    );
    const exit = double.submitted("POST /eth/v1/beacon/pool/voluntary_exits")[0] as { message: { validator_index: string } };
    expect(exit.message.validator_index).toBe("5");
  });

  it("streams head events, one per slot, with the dependent roots of the event's epoch", async () => {
    const abort = new AbortController();
    const slots: number[] = [];
    for await (const event of headEvents(double.url, abort.signal)) {
      expect(event.block).toEqual(double.blockRoot(event.slot));
      const epoch = Math.floor(event.slot / 8);
      expect(event.previousDutyDependentRoot).toEqual((await client.attesterDuties(epoch, [0])).dependentRoot);
      expect(event.currentDutyDependentRoot).toEqual((await client.proposerDuties(epoch)).dependentRoot);
      slots.push(event.slot);
      if (slots.length === 2) abort.abort();
    }
    expect(slots[1]).toBe(slots[0]! + 1);
  });

  it("names the node, endpoint and status of an error answer", async () => {
    double.fail({ status: 404, path: "/eth/v1/validator/attestation_data", times: 1 });
    const error = await client.attestationData(1, 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BeaconApiError);
    expect((error as BeaconApiError).status).toBe(404);
    expect((error as BeaconApiError).retryable).toBe(false);
    expect((error as Error).message).toContain(`beacon node ${double.url}: GET /eth/v1/validator/attestation_data answered 404: scripted fault`);
  });

  it("gives up on a slow answer at the request's deadline", async () => {
    double.delay(500);
    const slow = new BeaconClient(new HttpTransport(double.url, { timeoutMs: 50 }));
    const error = await slow.nodeVersion().catch((e: unknown) => e);
    double.heal();
    expect(error).toBeInstanceOf(BeaconApiError);
    expect((error as BeaconApiError).failure).toBe("timeout");
    expect((error as BeaconApiError).retryable).toBe(true);
  });

  it("reports a node that does not answer, and one that is syncing", async () => {
    double.syncing = true;
    expect(await client.health()).toBe("syncing");
    await expect(client.attesterDuties(0, [1])).rejects.toMatchObject({ status: 503, retryable: true });
    double.heal();
    const unreachable = new BeaconClient("http://127.0.0.1:1");
    await expect(unreachable.genesis()).rejects.toMatchObject({ failure: "unreachable" });
    expect(() => new BeaconClient("localhost:5052")).toThrow(/not a URL|expected http/);
  });
});

describe("BeaconClient against the beacon double (Electra: v2 shapes)", () => {
  let double: BeaconDouble;
  let client: BeaconClient;

  beforeAll(async () => {
    double = await BeaconDouble.start({ validators: 16, fork: ForkName.electra });
    client = new BeaconClient(double.url);
  });
  afterAll(() => double.stop());

  it("follows a scripted re-org: new roots from its first slot, the duties depending on them moved, the new head streamed at once", async () => {
    const epoch = Math.floor(Math.max(0, double.currentSlot()) / 8) + 3; // its dependent blocks are in the future
    const [attesterBefore, proposerBefore] = [await client.attesterDuties(epoch, [1, 9]), await client.proposerDuties(epoch)];
    const [kept, replaced] = [double.blockRoot(epoch * 8 - 2), double.blockRoot(epoch * 8 - 1)];
    // Each client reads its own node: one through BeaconNodes, the other a plain URL.
    const viaNodes = new BeaconClient(new BeaconNodes([double.url]));
    const abort = new AbortController();
    const events = viaNodes.headEvents(abort.signal);
    const first = events.next(); // subscribes
    await new Promise((resolve) => setTimeout(resolve, 50));
    double.reorg(epoch * 8 - 1); // replaces the last block before `epoch`: its proposers and the next epoch's attesters move
    const head = (await first).value as HeadEvent;
    abort.abort();
    await events.return(undefined);

    expect(double.blockRoot(epoch * 8 - 2)).toEqual(kept);
    expect(double.blockRoot(epoch * 8 - 1)).not.toEqual(replaced);
    const [attesterAfter, proposerAfter] = [await client.attesterDuties(epoch, [1, 9]), await client.proposerDuties(epoch)];
    expect(attesterAfter.dependentRoot).toEqual(attesterBefore.dependentRoot); // epoch's attesters depend on an older block
    expect(attesterAfter.duties.map((d) => d.slot)).toEqual(attesterBefore.duties.map((d) => d.slot));
    expect(proposerAfter.dependentRoot).toEqual(double.blockRoot(epoch * 8 - 1));
    expect(proposerAfter.dependentRoot).not.toEqual(proposerBefore.dependentRoot);
    expect(proposerAfter.duties.map((d) => d.validatorIndex)).toEqual(proposerBefore.duties.map((d) => (d.validatorIndex + 1) % 16));
    const next = await client.attesterDuties(epoch + 1, [1, 9]);
    expect(next.dependentRoot).toEqual(double.blockRoot(epoch * 8 - 1));
    expect(next.duties.map((d) => [d.validatorIndex, d.slot, d.committeeLength])).toEqual([
      [1, (epoch + 1) * 8 + 2, 2],
      [9, (epoch + 1) * 8 + 2, 2],
    ]);
    expect(head.slot).toBe(double.currentSlot());
    expect(head.block).toEqual(double.blockRoot(head.slot));
  });

  it("knows an added validator at once, and gives it duties from the next epoch", async () => {
    const index = double.addValidator();
    expect(index).toBe(16);
    const epoch = Math.floor(Math.max(0, double.currentSlot()) / 8);
    const [found] = await client.stateValidators([double.pubkeys[16]!]);
    expect(found).toMatchObject({ index: 16, status: "pending_queued" });
    expect(found?.validator.activationEpoch).toBe(epoch + 1);
    expect((await client.attesterDuties(epoch, [0, 16])).duties.map((d) => d.validatorIndex)).toEqual([0]);
    const next = await client.attesterDuties(epoch + 1, [16]);
    expect(next.duties.map((d) => d.slot)).toEqual([(epoch + 1) * 8]); // 16 % 8: the epoch's first slot
    expect(double.committee((epoch + 1) * 8)).toEqual([0, 8, 16]);
    expect((await client.proposerDuties(epoch + 1)).duties.map((d) => d.validatorIndex)).not.toContain(16);
  });

  it("submits SingleAttestations on v2 with the fork header, and aggregates them by committee", async () => {
    const slot = 13;
    expect((await client.network()).forks.map((f) => f.name)).toContain(ForkName.electra);
    const [a, b] = [await attest(client, 5, slot), await attest(client, 13, slot)];
    expect(a.data.index).toBe(0);
    const single = (attesterIndex: number, signature: Uint8Array): electra.SingleAttestation => ({ committeeIndex: 0, attesterIndex, data: a.data, signature });
    await client.submitAttestations(ForkName.electra, [single(5, a.signature), single(13, b.signature)]);
    const [submission] = double.submissions;
    expect(submission?.endpoint).toBe("POST /eth/v2/beacon/pool/attestations");
    expect(submission?.consensusVersion).toBe("electra");

    const aggregate = await client.aggregateAttestation(ForkName.electra, slot, ssz.phase0.AttestationData.hashTreeRoot(a.data), 0);
    expect(aggregate.aggregationBits.toBoolArray()).toEqual([true, true]);
    expect(aggregate.committeeBits.getTrueBitIndexes()).toEqual([0]);
    const included = await client.blockAttestations(ForkName.electra, slot + 1);
    expect(included.map((i) => ssz.electra.Attestation.equals(i, aggregate))).toEqual([true]);
    await client.submitAggregateAndProofs(ForkName.electra, [
      { message: { aggregatorIndex: 5, aggregate, selectionProof: new Uint8Array(96) }, signature: new Uint8Array(96) },
    ]);
    expect(double.submissions.at(-1)).toMatchObject({ endpoint: "POST /eth/v2/validator/aggregate_and_proofs", consensusVersion: "electra" });
  });

  it("produces block contents with v3 and publishes them with v2", async () => {
    const produced = await client.produceBlock(21, new Uint8Array(96).fill(0), new Uint8Array(32));
    expect(produced).toMatchObject({ fork: ForkName.electra, blinded: false });
    if (produced.blinded) throw new Error("unreachable");
    expect(produced.contents).toBeDefined();
    expect(produced.block.slot).toBe(21);
    await client.publishBlock(produced.fork, { signedBlock: { message: produced.block, signature: new Uint8Array(96) }, kzgProofs: [], blobs: [] } as never);
    expect(double.submissions.at(-1)).toMatchObject({ endpoint: "POST /eth/v2/beacon/blocks", consensusVersion: "electra" });
  });

  it("is refused, as a real node refuses, a v2 submission without its fork header or in a pre-Electra shape", async () => {
    const data = ssz.phase0.AttestationData.toJson(await client.attestationData(3, 0));
    const single = { committee_index: "0", attester_index: "3", data, signature: toHex(new Uint8Array(96)) };
    const path = "/eth/v2/beacon/pool/attestations";
    await expect(client.transport.request({ method: "POST", path, body: [single] })).rejects.toMatchObject({ status: 400 });
    const phase0Shape = { aggregation_bits: "0x03", data, signature: single.signature };
    const headers = { "eth-consensus-version": "electra" };
    await expect(client.transport.request({ method: "POST", path, body: [phase0Shape], headers })).rejects.toMatchObject({ status: 400 });
    await client.transport.request({ method: "POST", path, body: [single], headers });
  });
});
describe.each([ForkName.capella, ForkName.electra])("BeaconClient and a builder (%s: blinded blocks)", (fork) => {
  let double: BeaconDouble;
  let client: BeaconClient;
  // Typed as Capella's, the types are the fork's at run time.
  const types = sszTypesFor(fork as ForkName.capella);

  beforeAll(async () => {
    double = await BeaconDouble.start({ validators: 16, fork });
    client = new BeaconClient(double.url);
  });
  afterAll(() => double.stop());

  it("produces with v3 the block it would produce, blinded (same root), and publishes it signed with v2 and the fork header", async () => {
    const randao = interopSecretKey(5).sign(new Uint8Array(32)).toBytes();
    const full = await client.produceBlock(21, randao, new Uint8Array(32));
    double.builder = true;
    const produced = await client.produceBlock(21, randao, new Uint8Array(32));
    double.builder = false;
    expect(full.blinded).toBe(false);
    if (!produced.blinded) throw new Error("the double in builder mode answered a full block");
    expect(produced.fork).toBe(fork);
    expect("executionPayloadHeader" in produced.block.body).toBe(true);
    const blindedRoot = types.BlindedBeaconBlock.hashTreeRoot(produced.block as never);
    expect(toHex(blindedRoot)).toBe(toHex(types.BeaconBlock.hashTreeRoot(full.block as never)));

    const signed = { message: produced.block, signature: new Uint8Array(96).fill(7) };
    // Without the fork header a node cannot tell the shape: refused.
    const body = types.SignedBlindedBeaconBlock.toJson(signed as never);
    await expect(client.transport.request({ method: "POST", path: "/eth/v2/beacon/blinded_blocks", body })).rejects.toMatchObject({ status: 400 });
    await client.publishBlindedBlock(fork, signed as never);
    expect(double.submissions).toHaveLength(1);
    const [submission] = double.submissions;
    expect(submission).toMatchObject({ endpoint: "POST /eth/v2/beacon/blinded_blocks", consensusVersion: fork });
    const received = types.SignedBlindedBeaconBlock.fromJson(submission?.body);
    expect(toHex(types.BlindedBeaconBlock.hashTreeRoot(received.message))).toBe(toHex(blindedRoot));
  });
});
