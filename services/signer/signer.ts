/**
 * The signer: this operator's partial signatures. Before a partial leaves, the data passes
 * slashing protection (attestations and blocks, checked and recorded durably) and the rule that
 * makes consensus safe: a node signs at most one signing root per duty.
 */
import type { SecretKey } from "@chainsafe/blst";
import { secretKeyFromScalar } from "../core/crypto/index.js";
import { NektarError } from "../core/errors.js";
import { toHex } from "../core/hex.js";
import { type DutyId, dutyKey } from "./duties.js";
import type { Duty, Unsigned } from "./duty/kind.js";
import { SlashingProtectionError, type SlashingProtection } from "./slashingProtection/index.js";

/** Why this node did not sign: "slashing_protection" or "conflicting_data" (it signed other data for the duty). */
export class SigningRefused extends NektarError {
  constructor(
    readonly reason: "slashing_protection" | "conflicting_data",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class PartialSigner {
  private readonly keys: SecretKey[];
  /** Duty key -> the signing root signed for it (kept for a few epochs, see prune). */
  private readonly signed = new Map<string, { slot: number; root: string }>();

  constructor(
    shares: readonly bigint[],
    private readonly protection: SlashingProtection,
  ) {
    this.keys = shares.map((s) => secretKeyFromScalar(s));
  }

  /** The root this node signed for `id`, if any. */
  signedRoot(id: DutyId): string | undefined {
    return this.signed.get(dutyKey(id))?.root;
  }

  /**
   * Signs after slashing protection. `exclusive` (consensus duties) also refuses a second root for
   * the duty; an external validator client's requests are bound by slashing protection only.
   */
  async sign(duty: Duty, unsigned: Unsigned, exclusive = true): Promise<Uint8Array> {
    if (!exclusive) {
      await this.protect(duty, unsigned);
      return this.keys[duty.id.validator]!.sign(unsigned.signingRoot).toBytes();
    }
    const key = dutyKey(duty.id);
    const root = toHex(unsigned.signingRoot);
    const prior = this.signed.get(key);
    if (prior !== undefined && prior.root !== root) {
      throw new SigningRefused("conflicting_data", `${key}: already signed ${prior.root}, refusing ${root}`);
    }
    // Claimed before the await: a concurrent request for the same duty sees it.
    this.signed.set(key, { slot: duty.id.slot, root });
    try {
      await this.protect(duty, unsigned);
    } catch (err) {
      if (prior === undefined) this.signed.delete(key);
      throw err;
    }
    return this.keys[duty.id.validator]!.sign(unsigned.signingRoot).toBytes();
  }

  private async protect(duty: Duty, unsigned: Unsigned): Promise<void> {
    const s = unsigned.slashing;
    try {
      if (s?.kind === "attestation") {
        await this.protection.checkAndInsertAttestation(duty.pubkey, { sourceEpoch: s.sourceEpoch, targetEpoch: s.targetEpoch, signingRoot: unsigned.signingRoot });
      } else if (s?.kind === "block") {
        await this.protection.checkAndInsertBlockProposal(duty.pubkey, { slot: s.slot, signingRoot: unsigned.signingRoot });
      }
    } catch (err) {
      if (err instanceof SlashingProtectionError) throw new SigningRefused("slashing_protection", `${dutyKey(duty.id)}: ${err.reason}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** Forgets duties before `slot`: they can no longer be proposed (a proposal past its deadline is refused). */
  prune(slot: number): void {
    for (const [key, entry] of this.signed) if (entry.slot < slot) this.signed.delete(key);
  }
}
