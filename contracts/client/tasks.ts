/**
 * The task flow as the AVS service drives it: the AVS creates a task; workers hear TaskCreated,
 * compute, and sign responseDigest(taskId, resultHash) with their operator key; the aggregator
 * combines the signatures, names the non-signers and submits; anyone may challenge.
 */
import { aggregateSignatures } from "@chainsafe/blst";
import type { PublicKey, SecretKey, Signature } from "@chainsafe/blst";
import { AbiCoder, getBytes, keccak256, toUtf8Bytes } from "ethers";
import type { BigNumberish, BytesLike, TransactionReceipt } from "ethers";

import { NektarError } from "../../services/core/errors.js";
import type { Task, TaskManager, TaskManagerEvents, TaskResponse } from "../generated/index.js";
import { g1FromPublicKey, g2FromSignature, operatorIdOf } from "./bls.js";
import type { G1Point, G2Point } from "./bls.js";
import { events } from "./events.js";

export type { Task, TaskResponse };
export type TaskCreated = TaskManagerEvents["TaskCreated"];
export type TaskResponded = TaskManagerEvents["TaskResponded"];
/** A mined transaction's event, with its receipt (block number, gas used). */
export type Mined<E> = E & { receipt: TransactionReceipt };

/** TaskManager.RESPONSE_TYPEHASH. */
export const RESPONSE_TYPEHASH = keccak256(
  toUtf8Bytes("nektar.TaskResponse(uint256 chainId,address taskManager,uint32 taskId,bytes32 resultHash)"),
);

/** The 32 bytes each operator signs for `resultHash` as the result of task `taskId`. */
export function responseDigest(chainId: bigint, taskManager: string, taskId: BigNumberish, resultHash: BytesLike): Uint8Array {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["bytes32", "uint256", "address", "uint32", "bytes32"],
    [RESPONSE_TYPEHASH, chainId, taskManager, taskId, resultHash],
  );
  return getBytes(keccak256(encoded));
}

/** A worker's signature of its result (Ethereum's ciphersuite, as every nektar signature). */
export function signResponse(secretKey: SecretKey, digest: Uint8Array): Signature {
  return secretKey.sign(digest);
}

/** What respondToTask takes besides the task and result. */
export interface AggregateResponse {
  signature: G2Point;
  /** Ascending by operator id, as the contract requires. */
  nonSignerKeys: G1Point[];
}

/**
 * Aggregates the signers' signatures and orders the non-signers' keys. The caller decides who
 * the non-signers are: every operator of the AVS at the task's reference block that did not
 * contribute a valid signature.
 */
export function aggregateResponse(signatures: Signature[], nonSigners: PublicKey[]): AggregateResponse {
  if (signatures.length === 0) throw new NektarError("aggregateResponse: no signatures to aggregate");
  const keyed = nonSigners.map((pk) => ({ id: operatorIdOf(pk), key: g1FromPublicKey(pk) }));
  keyed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    signature: g2FromSignature(aggregateSignatures(signatures, true)),
    nonSignerKeys: keyed.map((k) => k.key),
  };
}

/** Creates a task for `avsId` judged at `referenceBlock` (default: the previous block). */
export async function createTask(
  taskManager: TaskManager,
  avsId: BigNumberish,
  input: BytesLike,
  referenceBlock?: number,
): Promise<Mined<TaskCreated>> {
  const runner = taskManager.runner?.provider;
  if (!runner) throw new NektarError("createTask: the TaskManager handle has no provider");
  const reference = referenceBlock ?? (await runner.getBlockNumber());
  const receipt = await (await taskManager.createTask(avsId, input, reference)).wait();
  return { ...events<TaskManagerEvents>(taskManager).one(receipt, "TaskCreated"), receipt: receipt! };
}

export async function respondToTask(
  taskManager: TaskManager,
  task: Task,
  resultHash: BytesLike,
  aggregate: AggregateResponse,
): Promise<Mined<TaskResponded>> {
  const tx = await taskManager.respondToTask(task, resultHash, aggregate.nonSignerKeys, aggregate.signature);
  const receipt = await tx.wait();
  return { ...events<TaskManagerEvents>(taskManager).one(receipt, "TaskResponded"), receipt: receipt! };
}

/** Calls `listener` for each task created from now on (for every AVS, or only `avsId`). */
export function onTaskCreated(
  taskManager: TaskManager,
  listener: (event: TaskCreated) => void,
  avsId?: bigint,
): () => Promise<void> {
  return events<TaskManagerEvents>(taskManager).on("TaskCreated", (event) => {
    if (avsId === undefined || event.avsId === avsId) listener(event);
  });
}

/** Challenges `response` with the AVS's bond (read it from AVSDirectory.taskParams). */
export async function challengeResponse(
  taskManager: TaskManager,
  task: Task,
  response: TaskResponse,
  bond: bigint,
): Promise<TransactionReceipt> {
  const receipt = await (await taskManager.challenge(task, response, { value: bond })).wait();
  if (receipt === null) throw new NektarError(`challenge of task ${task.taskId}: no receipt`);
  return receipt;
}
