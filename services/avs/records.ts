/**
 * What the aggregator knows of a task, as JSON: the aggregator serves it, the gateway forwards
 * it under its OpenAPI document. One TypeBox schema is the type, the response schema and the
 * documentation. Amounts are decimal strings (wei exceeds a JSON number), bytes 0x-hex.
 */
import { type Static, Type } from "@sinclair/typebox";

export const Hex = (description: string, bytes?: number) =>
  Type.String({
    pattern: bytes === undefined ? "^0x([0-9a-f]{2})*$" : `^0x[0-9a-f]{${bytes * 2}}$`,
    description,
  });
export const Wei = (description: string) => Type.String({ pattern: "^[0-9]{1,78}$", description: `${description} (wei, decimal string)` });
export const TaskId = Type.Integer({ minimum: 1, maximum: 0xffffffff, description: "The task's id in the TaskManager." });

export const TaskStates = ["collecting", "submitting", "certified", "failed"] as const;
/**
 * none: within the challenge window, unchallenged; final: the window closed unchallenged; open:
 * challenged, awaiting the arbiter; upheld (the signers are slashable), rejected, expired (the
 * arbiter did not decide in time).
 */
export const ChallengeStates = ["none", "final", "open", "upheld", "rejected", "expired"] as const;

export const ResponseRecordSchema = Type.Object(
  {
    operatorId: Hex("Operator id: keccak256 of its BLS key's EIP-2537 encoding", 32),
    operator: Type.String({ pattern: "^0x[0-9a-fA-F]{40}$", description: "Operator address" }),
    stake: Wei("The operator's stake at the task's reference block"),
    resultHash: Hex("keccak256 of the result it signed", 32),
    signature: Hex("Its BLS signature of TaskManager.responseDigest(taskId, resultHash), compressed", 96),
    receivedAt: Type.String({ format: "date-time" }),
    counted: Type.Boolean({ description: "Among the certificate's signers." }),
  },
  { additionalProperties: false },
);

export const FailureRecordSchema = Type.Object(
  {
    operatorId: Hex("Operator id", 32),
    reason: Type.String({ description: "Why the operator's worker has no result, e.g. its executor timed out." }),
  },
  { additionalProperties: false },
);

const Proposal = {
  proposalId: Type.Optional(Type.String({ pattern: "^[0-9]+$", description: "Slasher proposal, once submitted." })),
  txHash: Type.Optional(Hex("Transaction proposing the slash", 32)),
  submitError: Type.Optional(Type.String({ description: "Why proposing the slash failed." })),
};

export const DoubleSignEvidenceSchema = Type.Object(
  {
    kind: Type.Literal("double-sign"),
    operatorId: Hex("The equivocating operator", 32),
    publicKey: Hex("Its BLS public key, compressed", 48),
    resultA: Hex("One result it signed", 32),
    signatureA: Hex("Its signature of resultA, compressed", 96),
    resultB: Hex("Another result it signed for the same task", 32),
    signatureB: Hex("Its signature of resultB, compressed", 96),
    ...Proposal,
  },
  { additionalProperties: false, description: "Slasher.proposeDoubleSign evidence." },
);

export const ContradictionEvidenceSchema = Type.Object(
  {
    kind: Type.Literal("contradiction"),
    operatorId: Hex("The outvoted operator", 32),
    publicKey: Hex("Its BLS public key, compressed", 48),
    resultHash: Hex("The result it signed", 32),
    signature: Hex("Its signature of resultHash, compressed", 96),
    certifiedResultHash: Hex("The result of the task's final certificate", 32),
    ...Proposal,
  },
  {
    additionalProperties: false,
    description: "Slasher.proposeContradiction evidence: recorded once the certificate is final (its challenge window closed, no challenge upheld).",
  },
);

export const EvidenceRecordSchema = Type.Union([DoubleSignEvidenceSchema, ContradictionEvidenceSchema]);

export const CertificateSchema = Type.Object(
  {
    resultHash: Hex("keccak256 of the certified result", 32),
    result: Hex("The certified result"),
    signedStake: Wei("Stake of the signers at the reference block"),
    signers: Type.Array(Hex("Operator id", 32)),
    nonSignerIds: Type.Array(Hex("Operator id", 32), { description: "As in the TaskResponded event, ascending." }),
    respondedBlock: Type.Integer({ minimum: 0 }),
    txHash: Hex("The respondToTask transaction", 32),
    challengeDeadline: Type.Integer({ minimum: 0, description: "Last block at which the response can be challenged." }),
    challenge: Type.Union(ChallengeStates.map((s) => Type.Literal(s)), { description: "Where the certificate is in its challenge window." }),
    quorumToSubmissionMs: Type.Number({ minimum: 0, description: "From the last response needed to the response mined." }),
  },
  { additionalProperties: false },
);

export const TaskRecordSchema = Type.Object(
  {
    taskId: TaskId,
    avsId: Type.Integer({ minimum: 1 }),
    input: Hex("The task's input"),
    inputHash: Hex("keccak256 of the input", 32),
    referenceBlock: Type.Integer({ minimum: 0, description: "Stake and operators are those at the end of this block." }),
    responseDeadline: Type.Integer({ minimum: 0, description: "Last block a response is accepted on-chain." }),
    createdBlock: Type.Optional(Type.Integer({ minimum: 0 })),
    quorumBps: Type.Integer({ minimum: 0, maximum: 10_000 }),
    totalStake: Wei("Stake of every operator at the reference block"),
    operators: Type.Integer({ minimum: 0, description: "Operators of the AVS at the reference block." }),
    state: Type.Union(TaskStates.map((s) => Type.Literal(s)), {
      description: "collecting responses; submitting the certificate; certified on-chain; failed (see reason).",
    }),
    reason: Type.Optional(Type.String({ description: "Why the task failed." })),
    responses: Type.Array(ResponseRecordSchema),
    failures: Type.Array(FailureRecordSchema),
    evidence: Type.Array(EvidenceRecordSchema),
    certificate: Type.Optional(CertificateSchema),
  },
  { additionalProperties: false },
);

export type TaskRecord = Static<typeof TaskRecordSchema>;
export type Certificate = Static<typeof CertificateSchema>;
export type EvidenceRecord = Static<typeof EvidenceRecordSchema>;
