/**
 * Signing for an external validator client (the Web3Signer front door, services/signer/web3signer):
 * the typed request a node receives, and why it may refuse.
 *
 * The request carries the object to sign, never a bare signing root: every operator computes
 * the root itself (domain from its own beacon node's fork schedule), checks the object as it
 * would a leader's proposal, and records it in slashing protection before its partial leaves.
 */
import type { ForkName } from "@lodestar/params";
import type { altair, bellatrix, electra, phase0 } from "@lodestar/types";
import { NektarError } from "../core/errors.js";

/**
 * What an external validator client asks to sign, by Web3Signer request type (in brackets).
 * `pubkey` is the distributed validator's public key (48 bytes). `genesisValidatorsRoot`, when
 * the client sends its fork_info, must be the node's network's.
 */
export type RemoteSignRequest = { readonly pubkey: Uint8Array; readonly genesisValidatorsRoot?: Uint8Array } & (
  | /** ATTESTATION */ { readonly type: "attestation"; readonly data: phase0.AttestationData }
  | /** BLOCK_V2 (and BLOCK): signed by its header root, which equals the block's root. */ { readonly type: "block"; readonly header: phase0.BeaconBlockHeader }
  | /** RANDAO_REVEAL */ { readonly type: "randao_reveal"; readonly epoch: number }
  | /** AGGREGATION_SLOT */ { readonly type: "aggregation_slot"; readonly slot: number }
  | /** AGGREGATE_AND_PROOF(_V2): phase0 shape before Electra, electra shape from it. */ {
      readonly type: "aggregate_and_proof";
      readonly fork: ForkName;
      readonly aggregateAndProof: phase0.AggregateAndProof | electra.AggregateAndProof;
    }
  | /** VOLUNTARY_EXIT */ { readonly type: "voluntary_exit"; readonly exit: phase0.VoluntaryExit }
  | /** SYNC_COMMITTEE_MESSAGE */ { readonly type: "sync_committee_message"; readonly slot: number; readonly beaconBlockRoot: Uint8Array }
  | /** SYNC_COMMITTEE_SELECTION_PROOF */ { readonly type: "sync_committee_selection_proof"; readonly data: altair.SyncAggregatorSelectionData }
  | /** SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF */ {
      readonly type: "sync_committee_contribution_and_proof";
      readonly contributionAndProof: altair.ContributionAndProof;
    }
  | /** VALIDATOR_REGISTRATION */ { readonly type: "validator_registration"; readonly registration: bellatrix.ValidatorRegistrationV1 }
);
export type RemoteSignType = RemoteSignRequest["type"];

/**
 * Why a remote signing request failed. The Web3Signer API maps them to its statuses:
 * unknown_validator 404, invalid_request 400, slashing_protection 412, the others 503.
 */
export const RemoteSignFailure = {
  /** The pubkey is not a validator of this cluster. */
  UnknownValidator: "unknown_validator",
  /** The object is malformed, for another network, or for a slot far from now. */
  InvalidRequest: "invalid_request",
  /** This node's slashing protection refused it. */
  SlashingProtection: "slashing_protection",
  /** Fewer than t operators answered with a valid partial signature in time. */
  InsufficientPartials: "insufficient_partials",
  /** The recovered signature did not verify against the validator key (a bug or bad shares). */
  InvalidSignature: "invalid_signature",
} as const;
export type RemoteSignFailure = (typeof RemoteSignFailure)[keyof typeof RemoteSignFailure];

export class RemoteSignError extends NektarError {
  constructor(
    readonly failure: RemoteSignFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
