/**
 * Sync committee duties (Altair on): sync_message (a decided head block root), the subcommittee
 * selection proof (deterministic) and sync_contribution (a decided ContributionAndProof).
 */
import { SYNC_COMMITTEE_SIZE, SYNC_COMMITTEE_SUBNET_COUNT, TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE } from "@lodestar/params";
import { ssz, type altair } from "@lodestar/types";
import { createHash } from "node:crypto";
import { DOMAIN_CONTRIBUTION_AND_PROOF, DOMAIN_SYNC_COMMITTEE, DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF } from "../../core/eth/index.js";
import type { Chain } from "../chain.js";
import { DutyType } from "../duties.js";
import { checkSelectionProof } from "./attestation.js";
import { FetchError } from "./errors.js";
import { type DutyKind, check, deserialize, signingRoot } from "./kind.js";

/** The subcommittee a sync committee index belongs to. */
export function subcommitteeOf(syncCommitteeIndex: number): number {
  return Math.floor(syncCommitteeIndex / (SYNC_COMMITTEE_SIZE / SYNC_COMMITTEE_SUBNET_COUNT));
}

/** altair is_sync_committee_aggregator. */
export function isSyncAggregator(selectionProof: Uint8Array): boolean {
  const modulo = Math.max(1, Math.floor(SYNC_COMMITTEE_SIZE / SYNC_COMMITTEE_SUBNET_COUNT / TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE));
  return createHash("sha256").update(selectionProof).digest().readBigUInt64LE(0) % BigInt(modulo) === 0n;
}

export function syncMessageSigningRoot(slot: number, blockRoot: Uint8Array, chain: Chain): Uint8Array {
  return signingRoot(blockRoot, chain.domain(DOMAIN_SYNC_COMMITTEE, chain.epochOf(slot)));
}

export const syncMessage: DutyKind<Uint8Array> = {
  type: DutyType.SyncMessage,
  deterministic: false,
  async fetch(_duty, { beacon }) {
    return beacon.blockRoot("head");
  },
  decode(duty, bytes, { chain }) {
    const root = deserialize(ssz.Root, bytes, `sync message at slot ${duty.id.slot}`);
    return { value: root, bytes, signingRoot: syncMessageSigningRoot(duty.id.slot, root, chain) };
  },
  async submit(duty, { value }, signature, { beacon }) {
    await beacon.submitSyncCommitteeMessages([{ slot: duty.id.slot, beaconBlockRoot: value, validatorIndex: duty.validatorIndex, signature }]);
  },
};

export function syncSelectionSigningRoot(data: altair.SyncAggregatorSelectionData, chain: Chain): Uint8Array {
  return signingRoot(ssz.altair.SyncAggregatorSelectionData.hashTreeRoot(data), chain.domain(DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF, chain.epochOf(data.slot)));
}

export const prepareSyncContribution: DutyKind<altair.SyncAggregatorSelectionData> = {
  type: DutyType.PrepareSyncContribution,
  deterministic: true,
  async fetch(duty) {
    return ssz.altair.SyncAggregatorSelectionData.serialize({ slot: duty.id.slot, subcommitteeIndex: duty.subcommittee! });
  },
  decode(duty, bytes, { chain }) {
    const what = `sync selection proof at slot ${duty.id.slot}`;
    const data = deserialize(ssz.altair.SyncAggregatorSelectionData, bytes, what);
    check(data.slot === duty.id.slot, `${what}: for slot ${data.slot}`);
    if (duty.subcommittee !== undefined) check(data.subcommitteeIndex === duty.subcommittee, `${what}: subcommittee ${data.subcommitteeIndex}, not ${duty.subcommittee}`);
    return { value: data, bytes, signingRoot: syncSelectionSigningRoot(data, chain) };
  },
  async submit() {
    // Read by the sync_contribution duty.
  },
};

export function contributionSigningRoot(value: altair.ContributionAndProof, chain: Chain): Uint8Array {
  return signingRoot(ssz.altair.ContributionAndProof.hashTreeRoot(value), chain.domain(DOMAIN_CONTRIBUTION_AND_PROOF, chain.epochOf(value.contribution.slot)));
}

export const syncContribution: DutyKind<altair.ContributionAndProof> = {
  type: DutyType.SyncContribution,
  deterministic: false,
  async fetch(duty, ctx) {
    const slot = duty.id.slot;
    const selection = await ctx.result({ type: DutyType.PrepareSyncContribution, slot, validator: duty.id.validator }).catch((err: unknown) => {
      throw new FetchError("fetcher_sync_contribution_failed_prepare", `no sync selection proof: ${(err as Error).message}`);
    });
    const message = await ctx.result({ type: DutyType.SyncMessage, slot, validator: duty.id.validator }).catch((err: unknown) => {
      throw new FetchError("fetcher_sync_contribution_no_sync_msg", `no sync message: ${(err as Error).message}`);
    });
    const contribution = await ctx.beacon.syncCommitteeContribution(slot, duty.subcommittee!, message.unsigned.value as Uint8Array);
    return ssz.altair.ContributionAndProof.serialize({ aggregatorIndex: duty.validatorIndex, contribution, selectionProof: selection.signature });
  },
  decode(duty, bytes, { chain }) {
    const slot = duty.id.slot;
    const what = `sync contribution at slot ${slot}`;
    const value = deserialize(ssz.altair.ContributionAndProof, bytes, what);
    check(value.aggregatorIndex === duty.validatorIndex, `${what}: aggregator index ${value.aggregatorIndex}, not the validator's ${duty.validatorIndex}`);
    check(value.contribution.slot === slot, `${what}: contribution for slot ${value.contribution.slot}`);
    if (duty.subcommittee !== undefined) check(value.contribution.subcommitteeIndex === duty.subcommittee, `${what}: subcommittee ${value.contribution.subcommitteeIndex}`);
    const selection = { slot, subcommitteeIndex: value.contribution.subcommitteeIndex };
    checkSelectionProof(value.selectionProof, syncSelectionSigningRoot(selection, chain), duty.pubkey, what);
    check(isSyncAggregator(value.selectionProof), `${what}: the selection proof does not select the validator`);
    return { value, bytes, signingRoot: contributionSigningRoot(value, chain) };
  },
  async submit(_duty, { value }, signature, { beacon }) {
    await beacon.submitContributionAndProofs([{ message: value, signature }]);
  },
};
