/** A block about to be signed: its slot and the signing root of its header. */
export interface BlockProposal {
  slot: number;
  signingRoot: Uint8Array;
}

/** Attestation data about to be signed: its FFG vote and its signing root. */
export interface AttestationVote {
  sourceEpoch: number;
  targetEpoch: number;
  signingRoot: Uint8Array;
}

/** What an import changed. */
export interface ImportSummary {
  validators: number;
  blocks: number;
  attestations: number;
}

/**
 * Slashing protection for one node's validators, keyed by the validator's public key (for a
 * distributed validator: the group key, not the share's). A resolved check is durable: the node
 * may let a (partial) signature leave only after the promise resolves; a refusal rejects with a
 * SlashingProtectionError.
 */
export interface SlashingProtection {
  checkAndInsertBlockProposal(pubkey: Uint8Array, block: BlockProposal): Promise<void>;
  checkAndInsertAttestation(pubkey: Uint8Array, attestation: AttestationVote): Promise<void>;
  close(): Promise<void>;
}
