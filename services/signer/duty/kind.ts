/**
 * A duty kind: everything the pipeline needs to know about one duty type, so the components stay
 * generic. The leader (or, for a deterministic duty, every node) gets the data with `fetch`; every
 * node, the leader included, turns bytes into a checked Unsigned with `decode`; the broadcaster
 * submits the recovered signature with `submit`.
 */
import { ssz } from "@lodestar/types";
import { NektarError } from "../../core/errors.js";
import type { AttesterDuty, BeaconClient } from "../../core/eth/beacon/index.js";
import type { Chain } from "../chain.js";
import type { DutyId, DutyType } from "../duties.js";

/** A duty as the scheduler found it at the beacon node. */
export interface Duty {
  readonly id: DutyId;
  /** The validator's (group) public key. */
  readonly pubkey: Uint8Array;
  /** Its index on the beacon chain. */
  readonly validatorIndex: number;
  /** For attester, prepare_aggregator and aggregator duties. */
  readonly attester?: AttesterDuty;
  /** For prepare_sync_contribution and sync_contribution duties: the subcommittee. */
  readonly subcommittee?: number;
}

/** What a node signs for a duty: the data, its encoding on the wire, and the root to sign. */
export interface Unsigned<T = unknown> {
  readonly value: T;
  readonly bytes: Uint8Array;
  readonly signingRoot: Uint8Array;
  /** Slashable data, checked and recorded in slashing protection before a partial leaves. */
  readonly slashing?: { kind: "attestation"; sourceEpoch: number; targetEpoch: number } | { kind: "block"; slot: number };
}

/** The cluster's signature for a duty, once recovered and verified. */
export interface Recovered {
  readonly unsigned: Unsigned;
  readonly signature: Uint8Array;
}

export interface KindContext {
  readonly chain: Chain;
  readonly beacon: BeaconClient;
  /** The cluster's recovered signature of an earlier duty, waited for (a RANDAO reveal before its block). */
  result(id: DutyId): Promise<Recovered>;
  readonly feeRecipient: string;
  readonly gasLimit: number;
}

export interface DutyKind<T = unknown> {
  readonly type: DutyType;
  /** Signed by every node from the duty alone, without consensus. */
  readonly deterministic: boolean;
  fetch(duty: Duty, ctx: KindContext): Promise<Uint8Array>;
  /** Decodes and checks data for `duty`; an InvalidDataError says what is wrong. */
  decode(duty: Duty, bytes: Uint8Array, ctx: KindContext): Unsigned<T>;
  submit(duty: Duty, unsigned: Unsigned<T>, signature: Uint8Array, ctx: KindContext): Promise<void>;
}

/** Proposed data a node refuses to sign: malformed, for another duty, or inconsistent. */
export class InvalidDataError extends NektarError {}

/** compute_signing_root from an object root. */
export function signingRoot(objectRoot: Uint8Array, domain: Uint8Array): Uint8Array {
  return ssz.phase0.SigningData.hashTreeRoot({ objectRoot, domain });
}

/** Decodes SSZ bytes, naming the duty in the error. */
export function deserialize<T>(type: { deserialize(bytes: Uint8Array): T }, bytes: Uint8Array, what: string): T {
  try {
    return type.deserialize(bytes);
  } catch (err) {
    throw new InvalidDataError(`${what}: not valid SSZ (${(err as Error).message})`);
  }
}

export function check(condition: boolean, message: string): void {
  if (!condition) throw new InvalidDataError(message);
}
