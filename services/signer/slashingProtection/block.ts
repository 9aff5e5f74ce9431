import { SlashingProtectionError, SlashingProtectionReason } from "./errors.js";

/** A signed block as recorded: the root is null when unknown (interchange data may omit it). */
export interface BlockRecord {
  slot: number;
  signingRoot: string | null;
}

/** "new": record it, then sign; "repeat": the same block was signed before, sign again. */
export type CheckResult = "new" | "repeat";

/**
 * One validator's signed blocks. Below-or-at `floor` every slot counts as signed with an unknown
 * root: imported history keeps only its highest slot as the floor (minification), and pruned
 * records raise it.
 */
export class BlockHistory {
  private readonly bySlot = new Map<number, string | null>();
  floor: number | null = null;

  check(slot: number, signingRoot: string, who: string): CheckResult {
    const signed = this.bySlot.get(slot);
    if (signed !== undefined) {
      if (signed === signingRoot) return "repeat";
      throw new SlashingProtectionError(
        SlashingProtectionReason.DoubleProposal,
        `${who}: block at slot ${slot} refused: slot already signed with signing root ${signed ?? "(unknown)"}`,
      );
    }
    if (this.floor !== null && slot <= this.floor) {
      throw new SlashingProtectionError(
        SlashingProtectionReason.BelowWatermark,
        `${who}: block at slot ${slot} refused: at or below the low watermark slot ${this.floor}`,
      );
    }
    return "new";
  }

  /** Adds a record checked as "new". */
  insert(record: BlockRecord): void {
    this.bySlot.set(record.slot, record.signingRoot);
  }

  /**
   * Adds a record without checking it (replay, import): two different roots for one slot leave
   * the root unknown, so neither can be signed again.
   */
  merge(record: BlockRecord): void {
    const signed = this.bySlot.get(record.slot);
    this.bySlot.set(record.slot, signed === undefined || signed === record.signingRoot ? record.signingRoot : null);
  }

  raiseFloor(slot: number): void {
    if (this.floor === null || slot > this.floor) this.floor = slot;
  }

  /** Keeps the `keep` highest slots; the others move under the floor. */
  prune(keep: number): void {
    if (this.bySlot.size <= keep) return;
    const slots = [...this.bySlot.keys()].sort((a, b) => a - b);
    for (const slot of slots.slice(0, slots.length - keep)) {
      this.bySlot.delete(slot);
      this.raiseFloor(slot);
    }
  }

  records(): BlockRecord[] {
    return [...this.bySlot].map(([slot, signingRoot]) => ({ slot, signingRoot })).sort((a, b) => a.slot - b.slot);
  }

  get size(): number {
    return this.bySlot.size;
  }
}
