/**
 * Ceremony networks in memory, for unit tests of protocol edge cases (and a benchmark's
 * network-free figure). Messages still go through their SSZ encoding, as on the wire, and are
 * delivered asynchronously, in order per sender and receiver.
 */
import { MESSAGE_TYPES, type Envelope, type MessageKind, type Messages } from "./messages.js";
import type { CeremonyNetwork } from "./network.js";

type Handler = (from: number, message: Envelope) => void;

/** n operators' networks, connected to each other. */
export class MemoryHub {
  private readonly handlers: (Handler | undefined)[];
  private readonly queued: [from: number, message: Envelope][][];

  constructor(readonly size: number) {
    this.handlers = Array.from({ length: size }, () => undefined);
    this.queued = Array.from({ length: size }, () => []);
  }

  /** Operator `index`'s network. */
  network(index: number): CeremonyNetwork {
    return {
      send: <K extends MessageKind>(to: number, kind: K, body: Messages[K]) => this.deliver(index, to, kind, body),
      receive: (handler) => {
        this.handlers[index] = handler;
        for (const [from, message] of this.queued[index]!.splice(0)) handler(from, message);
      },
    };
  }

  private async deliver<K extends MessageKind>(from: number, to: number, kind: K, body: Messages[K]): Promise<void> {
    if (to < 0 || to >= this.size || to === from) throw new Error(`memory network: no operator ${to} to send to`);
    const type = MESSAGE_TYPES[kind];
    const bytes = type.serialize(body);
    await new Promise((resolve) => setImmediate(resolve));
    const message = { kind, body: type.deserialize(bytes) } as Envelope;
    const handler = this.handlers[to];
    if (handler === undefined) this.queued[to]!.push([from, message]);
    else handler(from, message);
  }
}
