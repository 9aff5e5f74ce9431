/**
 * Duties: what a distributed validator signs, one (type, slot, validator) at a time.
 *
 * The names follow Charon's duty types. Two kinds flow through the pipeline differently:
 * - decided duties carry data a beacon node chooses (attestation data, a block, an aggregate, a
 *   sync committee head root): the cluster agrees on one leader's data before anyone signs;
 * - deterministic duties sign what every node computes alike from the duty itself (the epoch for
 *   a RANDAO reveal, the slot for a selection proof, a builder registration, an exit): each node
 *   signs at once, with no consensus.
 */
import { ContainerType, UintNumberType } from "@chainsafe/ssz";
import { NektarError } from "../core/errors.js";

export const DutyType = {
  Attester: "attester",
  Proposer: "proposer",
  Randao: "randao",
  PrepareAggregator: "prepare_aggregator",
  Aggregator: "aggregator",
  SyncMessage: "sync_message",
  PrepareSyncContribution: "prepare_sync_contribution",
  SyncContribution: "sync_contribution",
  Exit: "exit",
  BuilderRegistration: "builder_registration",
} as const;
export type DutyType = (typeof DutyType)[keyof typeof DutyType];

/** In wire order: a duty's type travels as its index here, so append, never reorder. */
export const DUTY_TYPES: readonly DutyType[] = Object.values(DutyType);

/** Types whose data a leader proposes and the cluster agrees on. */
export const DECIDED_DUTIES: ReadonlySet<DutyType> = new Set([
  DutyType.Attester,
  DutyType.Proposer,
  DutyType.Aggregator,
  DutyType.SyncMessage,
  DutyType.SyncContribution,
]);

/**
 * One duty of one validator: the unit of consensus, signing and aggregation. `validator` is the
 * validator's position in the cluster lock; `slot` is the duty's slot (for an epoch-wide duty
 * such as an exit or a registration, its epoch's first slot).
 */
export interface DutyId {
  readonly type: DutyType;
  readonly slot: number;
  readonly validator: number;
}

/** The last duty a key share took part in, as the node API reports it. */
export interface LastDuty {
  readonly slot: number;
  readonly type: DutyType;
}

export const SszDutyId = new ContainerType({
  type: new UintNumberType(1),
  slot: new UintNumberType(8),
  validator: new UintNumberType(2),
});

export function toSszDutyId(duty: DutyId): { type: number; slot: number; validator: number } {
  return { type: DUTY_TYPES.indexOf(duty.type), slot: duty.slot, validator: duty.validator };
}

/** A duty id from the wire; `what` names the message in errors. */
export function fromSszDutyId(value: { type: number; slot: number; validator: number }, what: string): DutyId {
  const type = DUTY_TYPES[value.type];
  if (type === undefined) throw new NektarError(`${what}: unknown duty type ${value.type}`);
  return { type, slot: value.slot, validator: value.validator };
}

/** A map key and a log field: "attester/123/v0". */
export function dutyKey(duty: DutyId): string {
  return `${duty.type}/${duty.slot}/v${duty.validator}`;
}
