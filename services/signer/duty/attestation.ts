/**
 * Attestations and their aggregation: attester (decided attestation data), prepare_aggregator
 * (the selection proof, deterministic) and aggregator (a decided AggregateAndProof).
 *
 * Formats by the fork at the duty's slot: before Electra an Attestation with one aggregation bit
 * on v1; from Electra a SingleAttestation (committee and attester index) on v2, and aggregates
 * with committee bits.
 */
import { verify } from "@chainsafe/blst";
import { BitArray } from "@chainsafe/ssz";
import { TARGET_AGGREGATORS_PER_COMMITTEE, isForkPostElectra } from "@lodestar/params";
import { ssz, sszTypesFor, type AggregateAndProof, type phase0 } from "@lodestar/types";
import { createHash } from "node:crypto";
import { parsePublicKey, parseSignature } from "../../core/crypto/index.js";
import { DOMAIN_AGGREGATE_AND_PROOF, DOMAIN_BEACON_ATTESTER, DOMAIN_SELECTION_PROOF } from "../../core/eth/index.js";
import type { Chain } from "../chain.js";
import { DutyType } from "../duties.js";
import { FetchError } from "./errors.js";
import { type DutyKind, type KindContext, check, deserialize, signingRoot } from "./kind.js";

/** The checks any attestation data must pass, scheduled or remote. */
export function checkAttestationData(data: phase0.AttestationData, slot: number, chain: Chain, what: string): void {
  check(data.slot === slot, `${what}: attestation data for slot ${data.slot}, not the duty's ${slot}`);
  check(data.target.epoch === chain.epochOf(slot), `${what}: target epoch ${data.target.epoch} is not the epoch of slot ${slot}`);
  check(data.source.epoch <= data.target.epoch, `${what}: source epoch ${data.source.epoch} after target epoch ${data.target.epoch}`);
  if (isForkPostElectra(chain.forkAtSlot(slot))) check(data.index === 0, `${what}: committee index ${data.index} in the data; from Electra on it is 0`);
}

export function attestationSigningRoot(data: phase0.AttestationData, chain: Chain): Uint8Array {
  return signingRoot(ssz.phase0.AttestationData.hashTreeRoot(data), chain.domain(DOMAIN_BEACON_ATTESTER, data.target.epoch));
}

export const attester: DutyKind<phase0.AttestationData> = {
  type: DutyType.Attester,
  deterministic: false,
  async fetch(duty, ctx) {
    const data = await ctx.beacon.attestationData(duty.id.slot, duty.attester!.committeeIndex);
    return ssz.phase0.AttestationData.serialize(data);
  },
  decode(duty, bytes, { chain }) {
    const what = `attester duty at slot ${duty.id.slot}`;
    const data = deserialize(ssz.phase0.AttestationData, bytes, what);
    checkAttestationData(data, duty.id.slot, chain, what);
    if (duty.attester !== undefined && !isForkPostElectra(chain.forkAtSlot(duty.id.slot))) {
      check(data.index === duty.attester.committeeIndex, `${what}: committee ${data.index}, not the duty's ${duty.attester.committeeIndex}`);
    }
    return {
      value: data,
      bytes,
      signingRoot: attestationSigningRoot(data, chain),
      slashing: { kind: "attestation", sourceEpoch: data.source.epoch, targetEpoch: data.target.epoch },
    };
  },
  async submit(duty, { value: data }, signature, { chain, beacon }) {
    const fork = chain.forkAtSlot(duty.id.slot);
    const a = duty.attester!;
    if (isForkPostElectra(fork)) {
      await beacon.submitAttestations(fork, [{ committeeIndex: a.committeeIndex, attesterIndex: duty.validatorIndex, data, signature }]);
    } else {
      const aggregationBits = BitArray.fromSingleBit(a.committeeLength, a.validatorCommitteeIndex);
      await beacon.submitAttestations(fork, [{ aggregationBits, data, signature } as never]);
    }
  },
};

export function selectionProofSigningRoot(slot: number, chain: Chain): Uint8Array {
  return signingRoot(ssz.Slot.hashTreeRoot(slot), chain.domain(DOMAIN_SELECTION_PROOF, chain.epochOf(slot)));
}

/** consensus-specs is_aggregator: one in committee_length / TARGET_AGGREGATORS_PER_COMMITTEE. */
export function isAggregator(committeeLength: number, selectionProof: Uint8Array): boolean {
  const modulo = Math.max(1, Math.floor(committeeLength / TARGET_AGGREGATORS_PER_COMMITTEE));
  return createHash("sha256").update(selectionProof).digest().readBigUInt64LE(0) % BigInt(modulo) === 0n;
}

export const prepareAggregator: DutyKind<number> = {
  type: DutyType.PrepareAggregator,
  deterministic: true,
  async fetch(duty) {
    return ssz.Slot.serialize(duty.id.slot);
  },
  decode(duty, bytes, { chain }) {
    const slot = deserialize(ssz.Slot, bytes, `selection proof at slot ${duty.id.slot}`);
    check(slot === duty.id.slot, `selection proof for slot ${slot}, not the duty's ${duty.id.slot}`);
    return { value: slot, bytes, signingRoot: selectionProofSigningRoot(slot, chain) };
  },
  async submit(duty, _unsigned, signature, { beacon }) {
    // The node needs the committee's subnet to aggregate it.
    const a = duty.attester!;
    await beacon.subscribeToBeaconCommittees([
      { validatorIndex: duty.validatorIndex, committeeIndex: a.committeeIndex, committeesAtSlot: a.committeesAtSlot, slot: duty.id.slot, isAggregator: isAggregator(a.committeeLength, signature) },
    ]);
  },
};

/** Whether `proof` is the validator's selection proof for `slot` and makes it an aggregator. */
export function checkSelectionProof(proof: Uint8Array, root: Uint8Array, pubkey: Uint8Array, what: string): void {
  let valid = false;
  try {
    valid = verify(root, parsePublicKey(pubkey, "validator key"), parseSignature(proof, `${what} selection proof`));
  } catch {
    valid = false;
  }
  check(valid, `${what}: the selection proof is not the validator's`);
}

export function aggregateAndProofSigningRoot(fork: Parameters<typeof sszTypesFor>[0], value: AggregateAndProof, slot: number, chain: Chain): Uint8Array {
  const root = sszTypesFor(fork).AggregateAndProof.hashTreeRoot(value as never);
  return signingRoot(root, chain.domain(DOMAIN_AGGREGATE_AND_PROOF, chain.epochOf(slot)));
}

export const aggregator: DutyKind<AggregateAndProof> = {
  type: DutyType.Aggregator,
  deterministic: false,
  async fetch(duty, ctx: KindContext) {
    const { chain, beacon } = ctx;
    const slot = duty.id.slot;
    const fork = chain.forkAtSlot(slot);
    const selection = await ctx.result({ type: DutyType.PrepareAggregator, slot, validator: duty.id.validator }).catch((err: unknown) => {
      throw new FetchError("fetcher_aggregator_failed_prepare", `no selection proof: ${(err as Error).message}`);
    });
    const attestation = await ctx.result({ type: DutyType.Attester, slot, validator: duty.id.validator }).catch((err: unknown) => {
      throw new FetchError("fetcher_aggregator_no_att_data", `no attestation data: ${(err as Error).message}`);
    });
    const dataRoot = ssz.phase0.AttestationData.hashTreeRoot(attestation.unsigned.value as phase0.AttestationData);
    const aggregate = await beacon.aggregateAttestation(fork, slot, dataRoot, duty.attester!.committeeIndex);
    const value = { aggregatorIndex: duty.validatorIndex, aggregate, selectionProof: selection.signature };
    return sszTypesFor(fork).AggregateAndProof.serialize(value as never);
  },
  decode(duty, bytes, { chain }) {
    const slot = duty.id.slot;
    const what = `aggregator duty at slot ${slot}`;
    const fork = chain.forkAtSlot(slot);
    const value = deserialize(sszTypesFor(fork).AggregateAndProof, bytes, what) as AggregateAndProof;
    check(value.aggregatorIndex === duty.validatorIndex, `${what}: aggregator index ${value.aggregatorIndex}, not the validator's ${duty.validatorIndex}`);
    checkAttestationData(value.aggregate.data, slot, chain, `${what}: aggregate`);
    checkSelectionProof(value.selectionProof, selectionProofSigningRoot(slot, chain), duty.pubkey, what);
    if (duty.attester !== undefined) check(isAggregator(duty.attester.committeeLength, value.selectionProof), `${what}: the selection proof does not select the validator`);
    return { value, bytes, signingRoot: aggregateAndProofSigningRoot(fork, value, slot, chain) };
  },
  async submit(duty, { value }, signature, { chain, beacon }) {
    await beacon.submitAggregateAndProofs(chain.forkAtSlot(duty.id.slot), [{ message: value, signature } as never]);
  },
};
