import { NektarError } from "../../core/errors.js";

/**
 * Why slashing protection refused to sign. Metrics label refusals with this code, so it is a
 * closed set: every refusal has exactly one reason.
 */
export const SlashingProtectionReason = {
  /** An attestation for a target already signed with another signing root. */
  DoubleVote: "DoubleVote",
  /** The new attestation's (source, target) span contains a signed one. */
  SurroundVote: "SurroundVote",
  /** A signed attestation's span contains the new one. */
  SurroundedVote: "SurroundedVote",
  /** Source epoch after target epoch: never a valid attestation. */
  SourceAfterTarget: "SourceAfterTarget",
  /** A block for a slot already signed with another signing root. */
  DoubleProposal: "DoubleProposal",
  /** At or below a low watermark: imported history or pruned records whose roots are unknown. */
  BelowWatermark: "BelowWatermark",
  /** The store could not make a record durable; nothing is signed until a restart reopens it. */
  StorageFailure: "StorageFailure",
} as const;
export type SlashingProtectionReason = (typeof SlashingProtectionReason)[keyof typeof SlashingProtectionReason];

/** A refusal to sign. The message names the validator and the conflicting record. */
export class SlashingProtectionError extends NektarError {
  constructor(
    readonly reason: SlashingProtectionReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
