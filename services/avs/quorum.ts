/**
 * One task's responses as the aggregator collects them: each checked (a member at the task's
 * reference block, sent from its registered peer, the result matching its hash, the BLS
 * signature valid), grouped by result and weighed by stake at the reference block, until one
 * result holds the quorum or none can. An operator signing two results is equivocation: the
 * two signatures are the Slasher's double-sign evidence. No I/O here, so it is tested alone.
 */
import { verify } from "@chainsafe/blst";
import type { Signature } from "@chainsafe/blst";
import { keccak256 } from "ethers";

import type { Task } from "../../contracts/client/index.js";
import { parseSignature } from "../core/crypto/bls.js";
import { toHex } from "../core/hex.js";
import type { DoubleSignEvidence, Member, OperatorSet } from "./chain.js";
import { decodeReason } from "./protocol.js";
import type { TaskResponseMessage } from "./protocol.js";

export interface CountedResponse {
  member: Member;
  resultHash: string;
  result: Uint8Array;
  signature: Signature;
  receivedAt: Date;
}

export type AddOutcome =
  | { kind: "accepted"; response: CountedResponse }
  | { kind: "failure"; reason: string }
  | { kind: "duplicate" }
  | { kind: "refused"; reason: string }
  | { kind: "equivocation"; evidence: DoubleSignEvidence };

export interface Quorum {
  resultHash: string;
  result: Uint8Array;
  signers: CountedResponse[];
  nonSigners: Member[];
  signedStake: bigint;
}

const BPS = 10_000n;

export class TaskCollector {
  /** First valid response of each operator, by operator id. */
  readonly responses = new Map<string, CountedResponse>();
  /** Operators that reported they have no result, with their reason. */
  readonly failures = new Map<string, { member: Member; reason: string }>();
  private readonly stakeByResult = new Map<string, bigint>();

  constructor(
    readonly task: Task,
    readonly operators: OperatorSet,
    private readonly digest: (resultHash: string) => Uint8Array,
  ) {}

  get totalStake(): bigint {
    return BigInt(this.task.totalStake);
  }

  private meets(stake: bigint): boolean {
    return stake > 0n && stake * BPS >= this.totalStake * BigInt(this.task.quorumBps);
  }

  /** Checks and records a worker's message; `fromPeerId` is the sender proven by libp2p. */
  add(message: TaskResponseMessage, fromPeerId: string, receivedAt = new Date()): AddOutcome {
    const operatorId = toHex(message.operatorId);
    const member = this.operators.members.get(operatorId);
    if (member === undefined) {
      return { kind: "refused", reason: `operator ${operatorId} is not a member of AVS ${this.task.avsId} at block ${this.task.referenceBlock}` };
    }
    if (member.peerId !== fromPeerId) {
      return { kind: "refused", reason: `operator ${operatorId} registered peer ${member.peerId}, the response came from ${fromPeerId}` };
    }
    if (message.error.length > 0) {
      if (this.responses.has(operatorId) || this.failures.has(operatorId)) return { kind: "duplicate" };
      const reason = decodeReason(message.error);
      this.failures.set(operatorId, { member, reason });
      return { kind: "failure", reason };
    }
    const resultHash = toHex(message.resultHash);
    if (keccak256(message.result) !== resultHash) return { kind: "refused", reason: "resultHash is not keccak256(result)" };
    let signature: Signature;
    try {
      signature = parseSignature(message.signature, "response signature");
    } catch (err) {
      return { kind: "refused", reason: (err as Error).message };
    }
    if (!verify(this.digest(resultHash), member.publicKey, signature)) {
      return { kind: "refused", reason: `signature does not verify against operator ${operatorId}'s key` };
    }
    const previous = this.responses.get(operatorId);
    if (previous !== undefined) {
      if (previous.resultHash === resultHash) return { kind: "duplicate" };
      return {
        kind: "equivocation",
        evidence: {
          task: this.task,
          operatorId,
          publicKey: member.publicKey,
          resultA: previous.resultHash,
          signatureA: previous.signature,
          resultB: resultHash,
          signatureB: signature,
        },
      };
    }
    // A signed result after a failure report: the operator recovered; its result counts.
    this.failures.delete(operatorId);
    const response = { member, resultHash, result: message.result, signature, receivedAt };
    this.responses.set(operatorId, response);
    this.stakeByResult.set(resultHash, (this.stakeByResult.get(resultHash) ?? 0n) + member.stake);
    return { kind: "accepted", response };
  }

  /** The result holding the quorum, with its signers and every other member as non-signer; null if none yet. */
  quorum(): Quorum | null {
    for (const [resultHash, stake] of this.stakeByResult) {
      if (!this.meets(stake)) continue;
      const signers = [...this.responses.values()].filter((r) => r.resultHash === resultHash);
      const signerIds = new Set(signers.map((r) => r.member.operatorId));
      const nonSigners = [...this.operators.members.values()].filter((m) => !signerIds.has(m.operatorId));
      return { resultHash, result: signers[0]!.result, signers, nonSigners, signedStake: stake };
    }
    return null;
  }

  /**
   * Why no result can reach the quorum any more (every operator that has not answered would
   * have to join the best result and still fall short), or null while one still can.
   */
  hopeless(): string | null {
    let heard = 0n;
    for (const r of this.responses.values()) heard += r.member.stake;
    for (const f of this.failures.values()) heard += f.member.stake;
    const silent = this.totalStake - heard;
    const best = [...this.stakeByResult.values()].reduce((a, b) => (a > b ? a : b), 0n);
    if (this.meets(best + silent)) return null;
    const reasons = new Map<string, number>();
    for (const f of this.failures.values()) reasons.set(f.reason, (reasons.get(f.reason) ?? 0) + 1);
    const failed = [...reasons].map(([reason, count]) => `${count} × ${reason}`).join("; ");
    const members = this.operators.members.size;
    const parts = [
      this.failures.size > 0 ? `${this.failures.size} of ${members} operators have no result (${failed})` : "",
      this.stakeByResult.size > 1 ? `results split ${this.stakeByResult.size} ways` : "",
    ].filter((p) => p !== "");
    return `no result can reach the quorum of ${Number(this.task.quorumBps) / 100}% of stake: ${parts.join("; ")}`;
  }
}
