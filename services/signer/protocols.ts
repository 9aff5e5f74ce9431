/**
 * The signer's wire messages (SSZ, services/core/p2p/codec.ts). The sender of each is the
 * authenticated libp2p peer, so no message names its sender or carries a signature of its own:
 * a partial signature is only counted for the share of the peer it came from.
 *
 *     Proposal   leader -> all   one-way    the leader's data for a duty in a round, and its partial
 *     Partial    any -> all      one-way    a node's partial signature of one signing root
 *     RemoteSign node -> peer    request    data an external validator client asked the node to sign;
 *                                           answered with the peer's partial signature
 */
import { ByteListType, ByteVectorType, ContainerType, UintNumberType, type ValueOf } from "@chainsafe/ssz";
import { defineProtocol } from "../core/p2p/index.js";
import { SszDutyId } from "./duties.js";

/** Blocks travel whole: with blobs, up to 9 MiB of them (Electra's 9 blobs of 128 KiB, and a payload). */
const MAX_DATA_BYTES = 10 << 20;
const Bytes32 = new ByteVectorType(32);
const Bytes96 = new ByteVectorType(96);

export const SszProposal = new ContainerType({
  duty: SszDutyId,
  round: new UintNumberType(2),
  data: new ByteListType(MAX_DATA_BYTES),
  partial: Bytes96,
});
export type ProposalMessage = ValueOf<typeof SszProposal>;

export const SszPartial = new ContainerType({
  duty: SszDutyId,
  signingRoot: Bytes32,
  partial: Bytes96,
});
export type PartialMessage = ValueOf<typeof SszPartial>;

export const SszRemoteSign = new ContainerType({
  duty: SszDutyId,
  /** The RemoteSignType, as its index in REMOTE_SIGN_TYPES. */
  kind: new UintNumberType(1),
  data: new ByteListType(MAX_DATA_BYTES),
});
export type RemoteSignMessage = ValueOf<typeof SszRemoteSign>;

export const ProposalProtocol = defineProtocol({ name: "signer/proposal", version: "1.0.0", request: SszProposal, maxRequestBytes: MAX_DATA_BYTES + 128 });
export const PartialProtocol = defineProtocol({ name: "signer/partial", version: "1.0.0", request: SszPartial });
export const RemoteSignProtocol = defineProtocol({
  name: "signer/remote-sign",
  version: "1.0.0",
  request: SszRemoteSign,
  maxRequestBytes: MAX_DATA_BYTES + 128,
  response: Bytes96,
});
