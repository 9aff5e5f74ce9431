import { describe, expect, it } from "@jest/globals";
import { ForkName } from "@lodestar/params";
import { ssz, sszTypesFor } from "./types.js";

describe("SSZ types", () => {
  it("include every container types.ts lists as signed by a validator", () => {
    const listed: [keyof typeof ssz, string[]][] = [
      ["phase0", ["Fork", "ForkData", "Checkpoint", "AttestationData", "Attestation", "IndexedAttestation",
        "BeaconBlockHeader", "SigningData", "DepositMessage", "DepositData", "VoluntaryExit",
        "SignedVoluntaryExit", "AggregateAndProof"]],
      ["altair", ["SyncCommitteeMessage", "SyncAggregatorSelectionData", "SyncCommitteeContribution", "ContributionAndProof"]],
      ["bellatrix", ["ValidatorRegistrationV1"]],
      ["capella", ["BLSToExecutionChange"]],
      ["electra", ["Attestation", "IndexedAttestation", "AggregateAndProof", "SingleAttestation"]],
    ];
    for (const [fork, names] of listed) {
      for (const name of names) {
        const type = (ssz[fork] as Record<string, { hashTreeRoot(v: unknown): Uint8Array; defaultValue(): unknown }>)[name];
        expect([fork, name, type?.hashTreeRoot(type.defaultValue()).length]).toEqual([fork, name, 32]);
      }
    }
    expect(Object.keys(ssz.electra.Attestation.fields)).toContain("committeeBits");
  });

  it("sign a block by its header: hash_tree_root(block) = hash_tree_root(header with body_root), every fork", () => {
    for (const fork of [ForkName.altair, ForkName.bellatrix, ForkName.capella, ForkName.deneb, ForkName.electra, ForkName.fulu]) {
      const { BeaconBlock, BeaconBlockBody } = sszTypesFor(fork);
      const block = BeaconBlock.defaultValue();
      block.slot = 12_345_678;
      block.proposerIndex = 424_242;
      block.parentRoot = new Uint8Array(32).fill(1);
      block.stateRoot = new Uint8Array(32).fill(2);
      block.body.graffiti = new Uint8Array(32).fill(3);
      const header = {
        slot: block.slot,
        proposerIndex: block.proposerIndex,
        parentRoot: block.parentRoot,
        stateRoot: block.stateRoot,
        bodyRoot: BeaconBlockBody.hashTreeRoot(block.body),
      };
      expect([fork, ssz.phase0.BeaconBlockHeader.hashTreeRoot(header)]).toEqual([fork, BeaconBlock.hashTreeRoot(block)]);
    }
  });
});
