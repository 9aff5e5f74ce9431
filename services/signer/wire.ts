/**
 * The distributed validator node wired: one operator's node of a cluster.
 *
 *     scheduler -> fetcher -> consensus -> signer -> parsigex -> sigagg -> broadcaster
 *
 * `startValidatorNode` is the service's one entry point (`nektar node` calls it, tests and the
 * bench start clusters of it through testing.ts). See docs/signer.md.
 */
import type { Registry } from "prom-client";
import type { ClusterLock } from "../core/cluster/lock.js";
import { NektarError } from "../core/errors.js";
import type { Transport } from "../core/eth/beacon/index.js";
import type { Logger } from "../core/log/index.js";
import type { ClusterHost } from "../core/p2p/host.js";
import type { Identity } from "../core/p2p/identity.js";
import type { DutyType, LastDuty } from "./duties.js";
import type { RemoteSignRequest } from "./remote.js";
import type { SlashingProtection } from "./slashingProtection/index.js";

/** Milliseconds since the Unix epoch; tests may run a node on their own clock. */
export type Clock = () => number;

export interface ValidatorNodeOptions {
  /** The cluster: operators, threshold, validators and their public shares. */
  lock: ClusterLock;
  /** This operator's position in lock.definition.operators (its share id is operatorIndex + 1). */
  operatorIndex: number;
  /** This operator's secret share of each validator, in lock.validators order. */
  shares: readonly bigint[];
  /**
   * The p2p host among the lock's operators, not started: the node registers its protocols,
   * starts it, and stops it in stop(). Or what the node needs to make one.
   */
  p2p: ClusterHost | { identity: Identity; listen: readonly string[] };
  /** The beacon node(s): a BeaconNodes for failover, or one HttpTransport. */
  beacon: Transport;
  /** This node's store; the node does not close it (its owner does, after stop()). */
  slashingProtection: SlashingProtection;
  logger: Logger;
  registry: Registry;
  /**
   * Whether the node is itself the validator client, performing its validators' duties from the
   * beacon node (default true). False when an external validator client drives it through
   * remoteSign only: both at once would sign twice.
   */
  validatorClient?: boolean;
  /** The duties the node performs as validator client (default all). */
  duties?: readonly DutyType[];
  /** Builder registrations: the gas limit to register (default 30,000,000). Fee recipient: the lock's. */
  gasLimit?: number;
  /** Consensus and duty timing; defaults scale with the slot duration. */
  timing?: Partial<Timing>;
  clock?: Clock;
}

export interface Timing {
  /** How long round 0 waits for a proposal before moving to round 1; later rounds wait longer (linear). */
  roundTimeoutMs: number;
  /** How long after its slot's start a duty may still complete; past it, the duty fails. */
  dutyDeadlineMs: number;
  /** How long remoteSign waits for the peers' partial signatures. */
  remoteSignTimeoutMs: number;
}

/** One key share this node holds, as the node API reports it. */
export interface KeyShareStatus {
  /** The distributed validator's public key, 0x hex. */
  validatorPubkey: string;
  /** This operator's share id (operator index + 1). */
  shareIndex: number;
  /** The last duty this share signed for, if any since start. */
  lastDuty: LastDuty | undefined;
}

export interface ValidatorNode {
  readonly peerId: string;
  /** Operators connected now (this node not included). */
  connectedPeers(): { name: string; peerId: string }[];
  keyShares(): KeyShareStatus[];
  /**
   * Signs for an external validator client: this node leads one round for the given data (checks
   * and records its slashing protection, signs, asks every peer for its partial), recovers the
   * signature from t valid partials and verifies it once. Rejects with a RemoteSignError.
   */
  remoteSign(request: RemoteSignRequest): Promise<Uint8Array>;
  /** Stops duties, the p2p host and timers; the slashing protection store stays open. */
  stop(): Promise<void>;
}

export async function startValidatorNode(options: ValidatorNodeOptions): Promise<ValidatorNode> {
  throw new NektarError(`the validator node is not implemented yet (operator ${options.operatorIndex})`);
}
