import { NektarError } from "../errors.js";

/**
 * Why a message did not make it, as a metric label and for callers that react differently:
 * a timeout is retried, a peer that is not an operator is a configuration error.
 */
export type P2pFailure =
  | "not_operator" // the peer is not in the cluster definition
  | "not_connected" // no connection to the peer (broadcast does not dial)
  | "timeout" // no answer in time
  | "closed" // the stream or the host closed while waiting
  | "oversize" // larger than the protocol allows
  | "rate_limited" // the peer sends faster than the protocol allows
  | "invalid" // not a valid frame or message of the protocol
  | "remote"; // the peer's handler failed; the message is its reason

export class P2pError extends NektarError {
  constructor(
    readonly reason: P2pFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
