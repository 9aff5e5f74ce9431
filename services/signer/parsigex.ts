/**
 * Partial signature exchange: this node's partials to every peer, and the peers' partials into
 * sigagg, credited to the share of the peer they came from (the connection authenticates it).
 */
import type { ClusterHost } from "../core/p2p/host.js";
import type { Logger } from "../core/log/index.js";
import { type DutyId, fromSszDutyId, toSszDutyId, dutyKey } from "./duties.js";
import { PartialProtocol } from "./protocols.js";
import type { SigAgg } from "./sigagg.js";

export class ParSigEx {
  constructor(
    private readonly host: ClusterHost,
    private readonly sigagg: SigAgg,
    private readonly log: Logger,
  ) {
    host.handle(PartialProtocol, (message, from) => {
      const id = fromSszDutyId(message.duty, `partial signature from ${from.name}`);
      this.sigagg.add(id, message.signingRoot, from.index + 1, message.partial, "peer");
    });
  }

  /** Counts this node's partial and sends it to every connected peer. */
  async broadcast(id: DutyId, signingRoot: Uint8Array, partial: Uint8Array): Promise<void> {
    this.sigagg.add(id, signingRoot, this.host.self.index + 1, partial, "self");
    const result = await this.host.broadcast(PartialProtocol, { duty: toSszDutyId(id), signingRoot, partial });
    if (result.failed.length > 0) this.log.debug({ duty: dutyKey(id), failed: result.failed.map((f) => f.peer.name) }, "partial not sent to every peer");
  }
}
