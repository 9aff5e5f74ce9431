/**
 * Web3Signer request bodies as a validator client serializes them (Lodestar's
 * externalSignerClient: each payload through its SSZ type's toJson), parsed, and their signing
 * roots against the consensus specs' definition written out here per type.
 */
import { describe, expect, it } from "@jest/globals";
import { ContainerType } from "@chainsafe/ssz";
import {
  DOMAIN_AGGREGATE_AND_PROOF,
  DOMAIN_APPLICATION_BUILDER,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_BEACON_PROPOSER,
  DOMAIN_CONTRIBUTION_AND_PROOF,
  DOMAIN_DEPOSIT,
  DOMAIN_RANDAO,
  DOMAIN_SELECTION_PROOF,
  DOMAIN_SYNC_COMMITTEE,
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF,
  DOMAIN_VOLUNTARY_EXIT,
  ForkName,
} from "@lodestar/params";
import { ssz } from "@lodestar/types";
import { toHex } from "../../core/hex.js";
import { BadSignRequestError, type ChainParams, type SignType, checkedSigningRoot, parseSignRequest, signingRootOf } from "./requests.js";

const SLOTS_PER_EPOCH = 32;
const GVR = new Uint8Array(32).fill(0x4b);
const PREVIOUS = Uint8Array.from([1, 0, 0, 0]);
const CURRENT = Uint8Array.from([2, 0, 0, 0]);
const GENESIS_VERSION = Uint8Array.from([0, 0, 0, 0x20]);
const FORK_EPOCH = 100;
// Altair from genesis, Electra at epoch 1000.
const chain: ChainParams = { slotsPerEpoch: SLOTS_PER_EPOCH, genesisForkVersion: GENESIS_VERSION, forkAtEpoch: (epoch) => (epoch < 1000 ? ForkName.altair : ForkName.electra) };

const root = (byte: number) => new Uint8Array(32).fill(byte);
const forkInfo = {
  fork: { previous_version: toHex(PREVIOUS), current_version: toHex(CURRENT), epoch: String(FORK_EPOCH) },
  genesis_validators_root: toHex(GVR),
};

// The specs' compute_signing_root, spelled out: hash_tree_root(SigningData(hash_tree_root(object), domain)),
// domain = domain_type ++ hash_tree_root(ForkData(version, genesis_validators_root))[:28].
function specRoot(objectRoot: Uint8Array, domainType: Uint8Array, version: Uint8Array, gvr = GVR): string {
  const forkDataRoot = ssz.phase0.ForkData.hashTreeRoot({ currentVersion: version, genesisValidatorsRoot: gvr });
  const domain = Uint8Array.from([...domainType, ...forkDataRoot.subarray(0, 28)]);
  return toHex(ssz.phase0.SigningData.hashTreeRoot({ objectRoot, domain }));
}

const attestation = {
  slot: (FORK_EPOCH + 1) * SLOTS_PER_EPOCH + 3,
  index: 2,
  beaconBlockRoot: root(1),
  source: { epoch: FORK_EPOCH, root: root(2) },
  target: { epoch: FORK_EPOCH + 1, root: root(3) },
};
const aggregateAndProof = {
  aggregatorIndex: 7,
  aggregate: { aggregationBits: ssz.phase0.CommitteeBits.defaultValue(), data: attestation, signature: new Uint8Array(96) },
  selectionProof: new Uint8Array(96).fill(9),
};
const block = ssz.altair.BeaconBlock.defaultValue();
block.slot = FORK_EPOCH * SLOTS_PER_EPOCH - 1; // the previous fork's last slot
block.proposerIndex = 5;
const header = {
  slot: (FORK_EPOCH + 2) * SLOTS_PER_EPOCH,
  proposerIndex: 5,
  parentRoot: root(4),
  stateRoot: root(5),
  bodyRoot: root(6),
};
const contributionAndProof = ssz.altair.ContributionAndProof.defaultValue();
contributionAndProof.contribution.slot = (FORK_EPOCH + 1) * SLOTS_PER_EPOCH;
contributionAndProof.aggregatorIndex = 3;
const registration = { feeRecipient: new Uint8Array(20).fill(0xfe), gasLimit: 30_000_000, timestamp: 1_700_000_000, pubkey: new Uint8Array(48).fill(0xaa) };
const DepositType = new ContainerType(
  { pubkey: ssz.BLSPubkey, withdrawalCredentials: ssz.Bytes32, amount: ssz.UintNum64, genesisForkVersion: ssz.Bytes4 },
  { jsonCase: "eth2" },
);
const deposit = { pubkey: new Uint8Array(48).fill(0xab), withdrawalCredentials: root(7), amount: 32e9, genesisForkVersion: GENESIS_VERSION };

/** Each type's body as Lodestar sends it, and its root as the specs define it. */
const cases: [SignType, Record<string, unknown>, string][] = [
  [
    "ATTESTATION",
    { attestation: ssz.phase0.AttestationData.toJson(attestation) },
    specRoot(ssz.phase0.AttestationData.hashTreeRoot(attestation), DOMAIN_BEACON_ATTESTER, CURRENT),
  ],
  ["AGGREGATION_SLOT", { aggregation_slot: { slot: "3235" } }, specRoot(ssz.Slot.hashTreeRoot(3235), DOMAIN_SELECTION_PROOF, CURRENT)],
  [
    "AGGREGATE_AND_PROOF",
    { aggregate_and_proof: ssz.phase0.AggregateAndProof.toJson(aggregateAndProof) },
    specRoot(ssz.phase0.AggregateAndProof.hashTreeRoot(aggregateAndProof), DOMAIN_AGGREGATE_AND_PROOF, CURRENT),
  ],
  [
    "AGGREGATE_AND_PROOF_V2",
    { aggregate_and_proof: { version: "ALTAIR", data: ssz.phase0.AggregateAndProof.toJson(aggregateAndProof) } },
    specRoot(ssz.phase0.AggregateAndProof.hashTreeRoot(aggregateAndProof), DOMAIN_AGGREGATE_AND_PROOF, CURRENT),
  ],
  [
    "BLOCK_V2",
    { beacon_block: { version: "ALTAIR", block: ssz.altair.BeaconBlock.toJson(block) } },
    // Before fork.epoch: the previous version.
    specRoot(ssz.altair.BeaconBlock.hashTreeRoot(block), DOMAIN_BEACON_PROPOSER, PREVIOUS),
  ],
  [
    "BLOCK_V2",
    { beacon_block: { version: "ELECTRA", block_header: ssz.phase0.BeaconBlockHeader.toJson(header) } },
    specRoot(ssz.phase0.BeaconBlockHeader.hashTreeRoot(header), DOMAIN_BEACON_PROPOSER, CURRENT),
  ],
  ["RANDAO_REVEAL", { randao_reveal: { epoch: "99" } }, specRoot(ssz.Epoch.hashTreeRoot(99), DOMAIN_RANDAO, PREVIOUS)],
  [
    "VOLUNTARY_EXIT",
    { voluntary_exit: { epoch: "100", validator_index: "12" } },
    specRoot(ssz.phase0.VoluntaryExit.hashTreeRoot({ epoch: 100, validatorIndex: 12 }), DOMAIN_VOLUNTARY_EXIT, CURRENT),
  ],
  [
    "SYNC_COMMITTEE_MESSAGE",
    { sync_committee_message: { beacon_block_root: toHex(root(8)), slot: "3300" } },
    specRoot(ssz.Root.hashTreeRoot(root(8)), DOMAIN_SYNC_COMMITTEE, CURRENT),
  ],
  [
    "SYNC_COMMITTEE_SELECTION_PROOF",
    { sync_aggregator_selection_data: { slot: "3300", subcommittee_index: "2" } },
    specRoot(ssz.altair.SyncAggregatorSelectionData.hashTreeRoot({ slot: 3300, subcommitteeIndex: 2 }), DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF, CURRENT),
  ],
  [
    "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF",
    { contribution_and_proof: ssz.altair.ContributionAndProof.toJson(contributionAndProof) },
    specRoot(ssz.altair.ContributionAndProof.hashTreeRoot(contributionAndProof), DOMAIN_CONTRIBUTION_AND_PROOF, CURRENT),
  ],
  [
    "VALIDATOR_REGISTRATION",
    { validator_registration: ssz.bellatrix.ValidatorRegistrationV1.toJson(registration) },
    // builder-specs: the genesis fork version and a zero genesis validators root.
    specRoot(ssz.bellatrix.ValidatorRegistrationV1.hashTreeRoot(registration), DOMAIN_APPLICATION_BUILDER, GENESIS_VERSION, root(0)),
  ],
  [
    "DEPOSIT",
    { deposit: DepositType.toJson(deposit) },
    specRoot(ssz.phase0.DepositMessage.hashTreeRoot({ pubkey: deposit.pubkey, withdrawalCredentials: deposit.withdrawalCredentials, amount: deposit.amount }), DOMAIN_DEPOSIT, GENESIS_VERSION, root(0)),
  ],
];

const withForkInfo = (type: SignType) => type !== "DEPOSIT" && type !== "VALIDATOR_REGISTRATION";

describe("Web3Signer sign requests", () => {
  it.each(cases)("%s: parses what a client sends and computes the specs' signing root", (type, payload, expected) => {
    const body = { type, ...(withForkInfo(type) && { fork_info: forkInfo }), ...payload };
    const request = parseSignRequest(body, chain);
    expect(toHex(signingRootOf(request, chain))).toBe(expected);
    // The client's own root, when it sends one, is checked against ours.
    expect(toHex(checkedSigningRoot(parseSignRequest({ ...body, signingRoot: expected }, chain), chain))).toBe(expected);
    const wrong = `0x${"11".repeat(32)}`;
    expect(() => checkedSigningRoot(parseSignRequest({ ...body, signingRoot: wrong }, chain), chain)).toThrow(/signingRoot: 0x1111.* is not the signing root/);
  });

  it("types the payload as the node's remoteSign takes it", () => {
    const request = parseSignRequest({ type: "ATTESTATION", fork_info: forkInfo, attestation: ssz.phase0.AttestationData.toJson(attestation) }, chain);
    if (request.message.type !== "attestation") throw new Error("not an attestation");
    expect(ssz.phase0.AttestationData.equals(request.message.data, attestation)).toBe(true);
    expect(toHex(request.forkInfo!.genesisValidatorsRoot)).toBe(toHex(GVR));
    const v2 = parseSignRequest({ type: "AGGREGATE_AND_PROOF_V2", fork_info: forkInfo, aggregate_and_proof: { version: "ALTAIR", data: ssz.phase0.AggregateAndProof.toJson(aggregateAndProof) } }, chain);
    expect(v2.message).toMatchObject({ type: "aggregate_and_proof", fork: ForkName.altair });
    // The first version names no fork: the chain's at the aggregate's slot.
    const v1 = parseSignRequest({ type: "AGGREGATE_AND_PROOF", fork_info: forkInfo, aggregate_and_proof: ssz.phase0.AggregateAndProof.toJson(aggregateAndProof) }, chain);
    expect(v1.message).toMatchObject({ type: "aggregate_and_proof", fork: ForkName.altair });
    const electraSlot = { ...aggregateAndProof, aggregate: { ...aggregateAndProof.aggregate, data: { ...attestation, slot: 1000 * SLOTS_PER_EPOCH } } };
    expect(() => parseSignRequest({ type: "AGGREGATE_AND_PROOF", fork_info: forkInfo, aggregate_and_proof: ssz.phase0.AggregateAndProof.toJson(electraSlot) }, chain)).toThrow(
      /^type: AGGREGATE_AND_PROOF is the aggregate before Electra; for a electra slot, send AGGREGATE_AND_PROOF_V2/,
    );
    // A whole block becomes its header, whose root is the block's.
    const blockRequest = parseSignRequest({ type: "BLOCK_V2", fork_info: forkInfo, beacon_block: { version: "ALTAIR", block: ssz.altair.BeaconBlock.toJson(block) } }, chain);
    if (blockRequest.message.type !== "block") throw new Error("not a block");
    expect(toHex(ssz.phase0.BeaconBlockHeader.hashTreeRoot(blockRequest.message.header))).toBe(toHex(ssz.altair.BeaconBlock.hashTreeRoot(block)));
  });

  it.each([
    ["an unknown type", { type: "BLOCK", block: {} }, "type"],
    ["a bad fork_info version", { type: "RANDAO_REVEAL", fork_info: { ...forkInfo, fork: { ...forkInfo.fork, current_version: "0x01" } }, randao_reveal: { epoch: "1" } }, "fork_info.fork.current_version"],
    ["a missing payload", { type: "ATTESTATION", fork_info: forkInfo }, "attestation"],
    ["a missing nested field", { type: "ATTESTATION", fork_info: forkInfo, attestation: { ...ssz.phase0.AttestationData.toJson(attestation) as object, source: { epoch: "1" } } }, "attestation.source.root"],
    ["a bad number", { type: "VOLUNTARY_EXIT", fork_info: forkInfo, voluntary_exit: { epoch: "x", validator_index: "1" } }, "voluntary_exit.epoch"],
    ["an unknown fork", { type: "BLOCK_V2", fork_info: forkInfo, beacon_block: { version: "SHANGHAI", block_header: {} } }, "beacon_block.version"],
    ["a short signingRoot", { type: "RANDAO_REVEAL", fork_info: forkInfo, randao_reveal: { epoch: "1" }, signingRoot: "0x12" }, "signingRoot"],
  ])("refuses %s, naming the field", (_, body, field) => {
    let error: unknown;
    try {
      parseSignRequest(body, chain);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BadSignRequestError);
    expect((error as BadSignRequestError).field).toBe(field);
  });

  it("refuses to compute a chain-bound root without fork_info", () => {
    const request = parseSignRequest({ type: "RANDAO_REVEAL", randao_reveal: { epoch: "1" } }, chain);
    expect(() => signingRootOf(request, chain)).toThrow(/fork_info: missing/);
  });
});
