/**
 * A ceremony's network over the cluster's libp2p host: one protocol per message kind, each
 * message acknowledged (messages.ts), operators named by their index in the definition the host was made from. The
 * host admits only the definition's operators, encrypts every stream (noise) and bounds and
 * rate-limits every message.
 */
import type { ClusterHost } from "../core/p2p/host.js";
import { type Envelope, type MessageKind, type Messages, PROTOCOLS } from "./messages.js";
import type { CeremonyNetwork } from "./network.js";

type Handler = (from: number, message: Envelope) => void;

export class ClusterHostNetwork implements CeremonyNetwork {
  private handler: Handler | undefined;
  private readonly early: [number, Envelope][] = [];

  /** Registers the ceremony's protocols on `host`, which must not be started yet. */
  constructor(private readonly host: ClusterHost) {
    const serve = <K extends MessageKind>(kind: K) =>
      host.handle(PROTOCOLS[kind], (body: Messages[K], from) => {
        this.deliver(from.index, { kind, body } as Envelope);
        return true;
      });
    for (const kind of Object.keys(PROTOCOLS) as MessageKind[]) serve(kind);
  }

  async send<K extends MessageKind>(to: number, kind: K, body: Messages[K], timeoutMs: number): Promise<void> {
    const peer = this.host.operators[to];
    if (peer === undefined) throw new Error(`no operator ${to} in the cluster`);
    await this.host.send(peer.peerId, PROTOCOLS[kind], body, { timeoutMs });
  }

  receive(handler: Handler): void {
    this.handler = handler;
    for (const [from, message] of this.early.splice(0)) handler(from, message);
  }

  private deliver(from: number, message: Envelope): void {
    if (this.handler === undefined) this.early.push([from, message]);
    else this.handler(from, message);
  }
}
