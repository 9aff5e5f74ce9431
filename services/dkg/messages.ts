/**
 * What the operators of a ceremony say to each other, as SSZ (like everything nektar sends):
 * one libp2p protocol per message, each with its size bound.
 *
 *     hello          everyone -> everyone  which ceremony this node runs (ack: in answer to one)
 *     deal           dealer -> everyone    Feldman commitments and proofs, in chunks of validators
 *     shares         dealer -> receiver    the receiver's shares, for every validator (encrypted
 *                                          by the noise channel; never broadcast)
 *     complaints     everyone -> everyone  dealers whose shares failed, and a hash of every deal seen
 *     justification  dealer -> everyone    the disputed shares of one complainant, in the clear
 *     partials       everyone -> everyone  the qualified dealers, and partial deposit signatures
 *     lock-signature everyone -> everyone  the lock hash and the operator's identity signature
 *
 * G1 and G2 points travel uncompressed: decompressing costs a square root (about 15 us in G1,
 * 45 us in G2) and a cluster exchanges tens of thousands of points. They are checked to be on the
 * curve when parsed; subgroup membership is checked where it matters (see dealing.ts).
 */
import { BooleanType, ByteListType, ByteVectorType, ContainerType, ListBasicType, ListCompositeType, type Type, UintNumberType } from "@chainsafe/ssz";
import { MAX_OPERATORS, MAX_VALIDATORS } from "../core/p2p/definition.js";
import { HARD_MAX_BYTES, type Protocol, defineProtocol } from "../core/p2p/codec.js";

/** Validators per deal message: with 64 operators (threshold 43) a chunk stays under 1 MiB. */
export const DEAL_CHUNK = 128;

export const G1_UNCOMPRESSED = 96;
export const G2_UNCOMPRESSED = 192;

const Bytes32 = new ByteVectorType(32);
const G1Point = new ByteVectorType(G1_UNCOMPRESSED);
const OperatorIndex = new UintNumberType(1);

export const HelloType = new ContainerType({
  /** sha256 of what defines the ceremony (ceremony.ts ceremonyId): all must run the same one. */
  ceremony: Bytes32,
  /** true when answering a peer's hello, so the peer stops repeating its own. */
  ack: new BooleanType(),
});

export const DealtValidatorType = new ContainerType({
  /** C_k = a_k·G, k = 0..t-1, uncompressed. */
  commitments: new ListCompositeType(G1Point, MAX_OPERATORS),
  /** DKG: proof of possession of a_0 (uncompressed G2). Resharing: empty, C_0 is the old public share. */
  proof: new ByteListType(G2_UNCOMPRESSED),
});

export const DealType = new ContainerType({
  /** Index of the first validator in this chunk: a multiple of DEAL_CHUNK. */
  offset: new UintNumberType(4),
  validators: new ListCompositeType(DealtValidatorType, DEAL_CHUNK),
});

export const SharesType = new ContainerType({
  /** f(receiver id) for every validator, 32-byte big-endian. */
  shares: new ListCompositeType(Bytes32, MAX_VALIDATORS),
});

export const ComplaintsType = new ContainerType({
  /** Operator indices of the dealers whose shares to this node failed verification. */
  against: new ListBasicType(OperatorIndex, MAX_OPERATORS),
  /** sha256 of each operator's deal as this node received it (zero for an operator that does not deal). */
  deals: new ListCompositeType(Bytes32, MAX_OPERATORS),
});

export const JustificationType = new ContainerType({
  /** The complainant (operator index) whose shares are revealed. */
  receiver: OperatorIndex,
  shares: new ListCompositeType(Bytes32, MAX_VALIDATORS),
});

export const PartialsType = new ContainerType({
  /** The qualified dealers as this node computed them, ascending: all must agree. */
  qualified: new ListBasicType(OperatorIndex, MAX_OPERATORS),
  /** The partial signature of every validator's deposit message, uncompressed G2. */
  signatures: new ListCompositeType(new ByteVectorType(G2_UNCOMPRESSED), MAX_VALIDATORS),
});

export const LockSignatureType = new ContainerType({
  lockHash: Bytes32,
  /** The operator's identity signature of the lock hash (lock.ts); secp256k1 DER is at most 72 bytes. */
  signature: new ByteListType(80),
});

type ValueOf<T> = T extends Type<infer V> ? V : never;
export type Hello = ValueOf<typeof HelloType>;
export type Deal = ValueOf<typeof DealType>;
export type DealtValidator = ValueOf<typeof DealtValidatorType>;
export type Shares = ValueOf<typeof SharesType>;
export type Complaints = ValueOf<typeof ComplaintsType>;
export type Justification = ValueOf<typeof JustificationType>;
export type Partials = ValueOf<typeof PartialsType>;
export type LockSignature = ValueOf<typeof LockSignatureType>;

/** Every message by its kind: what the ceremony sends and receives. */
export interface Messages {
  hello: Hello;
  deal: Deal;
  shares: Shares;
  complaints: Complaints;
  justification: Justification;
  partials: Partials;
  lockSignature: LockSignature;
}
export type MessageKind = keyof Messages;
/** A received message with its kind, for one handler to switch on. */
export type Envelope = { [K in MessageKind]: { kind: K; body: Messages[K] } }[MessageKind];

/** The SSZ type of each kind. */
export const MESSAGE_TYPES: { [K in MessageKind]: Type<Messages[K]> } = {
  hello: HelloType,
  deal: DealType,
  shares: SharesType,
  complaints: ComplaintsType,
  justification: JustificationType,
  partials: PartialsType,
  lockSignature: LockSignatureType,
};

/** The protocol names, "/nektar/dkg/<name>/1.0.0" on the wire. */
const PROTOCOL_NAMES: { [K in MessageKind]: string } = {
  hello: "dkg/hello",
  deal: "dkg/deal",
  shares: "dkg/shares",
  complaints: "dkg/complaints",
  justification: "dkg/justification",
  partials: "dkg/partials",
  lockSignature: "dkg/lock-signature",
};

/** What a receiver answers every message with: it has it. */
export const AckType = new BooleanType();

/**
 * The libp2p protocol of each kind: a request answered by an ack, so a sender knows the message
 * arrived (and a node that is done may stop its host without cutting off what it sent last). A
 * message may be as large as its type allows (a deal chunk of 64-operator commitments is
 * ~1 MB, partials for 10,000 validators ~1.9 MB), under the codec's hard limit; everything is
 * rate-limited at the codec's default.
 */
export const PROTOCOLS: { [K in MessageKind]: Protocol<Messages[K], boolean> } = Object.fromEntries(
  (Object.keys(MESSAGE_TYPES) as MessageKind[]).map((kind) => {
    const request = MESSAGE_TYPES[kind] as Type<unknown>;
    if (request.maxSize > HARD_MAX_BYTES) throw new Error(`dkg ${kind}: maximum size ${request.maxSize} exceeds the codec's ${HARD_MAX_BYTES}`);
    return [kind, defineProtocol({ name: PROTOCOL_NAMES[kind], version: "1.0.0", request, maxRequestBytes: request.maxSize, response: AckType })];
  }),
) as { [K in MessageKind]: Protocol<Messages[K], boolean> };
