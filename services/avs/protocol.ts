/**
 * What a worker sends the aggregator over libp2p: its signed result of a task, or why it has
 * none. The sender is authenticated twice: the noise handshake proves its peer id (the one its
 * operator registered on-chain) and, for a result, the BLS signature proves its operator key.
 */
import { BooleanType, ByteListType, ByteVectorType, ContainerType, UintNumberType } from "@chainsafe/ssz";
import type { ValueOf } from "@chainsafe/ssz";

import { defineProtocol } from "../core/p2p/index.js";

/** A result is kept whole (in the certificate the gateway serves), so it is bounded. */
export const MAX_RESULT_BYTES = 64 * 1024;
export const MAX_REASON_BYTES = 256;

export const TaskResponseMessage = new ContainerType(
  {
    taskId: new UintNumberType(4),
    /** The responding operator's id (keccak256 of its key's EIP-2537 encoding). */
    operatorId: new ByteVectorType(32),
    /** keccak256(result); zero when `error` says why there is no result. */
    resultHash: new ByteVectorType(32),
    result: new ByteListType(MAX_RESULT_BYTES),
    /** BLS signature of TaskManager.responseDigest(taskId, resultHash); zero with an error. */
    signature: new ByteVectorType(96),
    /** UTF-8: why the operator has no result (e.g. its executor timed out); empty with a result. */
    error: new ByteListType(MAX_REASON_BYTES),
  },
  { typeName: "TaskResponseMessage" },
);
export type TaskResponseMessage = ValueOf<typeof TaskResponseMessage>;

export const TaskResponseAck = new ContainerType(
  {
    accepted: new BooleanType(),
    /** UTF-8: why a response was refused. */
    reason: new ByteListType(MAX_REASON_BYTES),
  },
  { typeName: "TaskResponseAck" },
);
export type TaskResponseAck = ValueOf<typeof TaskResponseAck>;

export const TaskResponseProtocol = defineProtocol({
  name: "avs/task-response",
  version: "1.0.0",
  request: TaskResponseMessage,
  response: TaskResponseAck,
  maxRequestBytes: TaskResponseMessage.maxSize,
  // One response per task per operator; a burst covers tasks created together.
  rateLimit: { perSecond: 200, burst: 1000 },
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A reason as bounded UTF-8 (cut at the byte bound, never mid-character). */
export function encodeReason(reason: string): Uint8Array {
  const bytes = encoder.encode(reason);
  if (bytes.length <= MAX_REASON_BYTES) return bytes;
  let end = MAX_REASON_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

export function decodeReason(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
