import type { CheckResult } from "./block.js";
import { SlashingProtectionError, SlashingProtectionReason } from "./errors.js";

/** A signed attestation as recorded: the root is null when unknown. */
export interface AttestationRecord {
  sourceEpoch: number;
  targetEpoch: number;
  signingRoot: string | null;
}

/**
 * One validator's signed attestations, by target epoch. Low watermarks (imported history,
 * pruned records): a new vote needs source >= sourceFloor and target > targetFloor. With both
 * floors at the maxima of everything moved under them, no new vote above them can surround or
 * be surrounded by a forgotten one (surrounding needs a lower source, being surrounded a higher
 * target), so forgotten records need no surround check.
 *
 * The surround check scans the kept records: pruning keeps a few thousand per validator, which a
 * scan covers in microseconds, far below the fsync that follows every new record.
 */
export class AttestationHistory {
  private readonly byTarget = new Map<number, AttestationRecord>();
  sourceFloor: number | null = null;
  targetFloor: number | null = null;

  check(sourceEpoch: number, targetEpoch: number, signingRoot: string, who: string): CheckResult {
    const refuse = (reason: SlashingProtectionReason, why: string): never => {
      throw new SlashingProtectionError(reason, `${who}: attestation source ${sourceEpoch} target ${targetEpoch} refused: ${why}`);
    };
    if (sourceEpoch > targetEpoch) refuse(SlashingProtectionReason.SourceAfterTarget, "source epoch after target epoch");
    const signed = this.byTarget.get(targetEpoch);
    if (signed !== undefined) {
      if (signed.signingRoot === signingRoot && signed.sourceEpoch === sourceEpoch) return "repeat";
      refuse(
        SlashingProtectionReason.DoubleVote,
        `target already signed (source ${signed.sourceEpoch}, signing root ${signed.signingRoot ?? "(unknown)"})`,
      );
    }
    if (this.sourceFloor !== null && sourceEpoch < this.sourceFloor) {
      refuse(SlashingProtectionReason.BelowWatermark, `source below the low watermark source epoch ${this.sourceFloor}`);
    }
    if (this.targetFloor !== null && targetEpoch <= this.targetFloor) {
      refuse(SlashingProtectionReason.BelowWatermark, `target at or below the low watermark target epoch ${this.targetFloor}`);
    }
    for (const prev of this.byTarget.values()) {
      if (prev.sourceEpoch < sourceEpoch && targetEpoch < prev.targetEpoch) {
        refuse(SlashingProtectionReason.SurroundedVote, `surrounded by the signed source ${prev.sourceEpoch} target ${prev.targetEpoch}`);
      }
      if (sourceEpoch < prev.sourceEpoch && prev.targetEpoch < targetEpoch) {
        refuse(SlashingProtectionReason.SurroundVote, `surrounds the signed source ${prev.sourceEpoch} target ${prev.targetEpoch}`);
      }
    }
    return "new";
  }

  /** Adds a record checked as "new". */
  insert(record: AttestationRecord): void {
    this.byTarget.set(record.targetEpoch, record);
  }

  /**
   * Adds a record without checking it (replay, import). Two different votes for one target keep
   * the higher source and an unknown root: neither can be signed again. Import raises the floors
   * over such data, so the dropped source needs no surround check.
   */
  merge(record: AttestationRecord): void {
    const signed = this.byTarget.get(record.targetEpoch);
    if (signed === undefined || (signed.signingRoot === record.signingRoot && signed.sourceEpoch === record.sourceEpoch)) {
      this.byTarget.set(record.targetEpoch, record);
      return;
    }
    this.byTarget.set(record.targetEpoch, {
      sourceEpoch: Math.max(signed.sourceEpoch, record.sourceEpoch),
      targetEpoch: record.targetEpoch,
      signingRoot: null,
    });
  }

  raiseFloors(sourceEpoch: number, targetEpoch: number): void {
    if (this.sourceFloor === null || sourceEpoch > this.sourceFloor) this.sourceFloor = sourceEpoch;
    if (this.targetFloor === null || targetEpoch > this.targetFloor) this.targetFloor = targetEpoch;
  }

  /** Keeps the `keep` highest targets; the others move under the floors. */
  prune(keep: number): void {
    if (this.byTarget.size <= keep) return;
    const targets = [...this.byTarget.keys()].sort((a, b) => a - b);
    for (const target of targets.slice(0, targets.length - keep)) {
      const record = this.byTarget.get(target)!;
      this.byTarget.delete(target);
      this.raiseFloors(record.sourceEpoch, record.targetEpoch);
    }
  }

  records(): AttestationRecord[] {
    return [...this.byTarget.values()].sort((a, b) => a.targetEpoch - b.targetEpoch);
  }

  get size(): number {
    return this.byTarget.size;
  }
}
