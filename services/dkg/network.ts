/**
 * What a ceremony needs from the network, and nothing more: send a message to one operator, and
 * receive every message sent to this one. Operators are named by their index in the
 * definition. libp2p.ts implements it over the ClusterHost, memory.ts in memory for unit tests.
 *
 * Delivery is at most once and may fail: the ceremony retries sends until a phase's deadline and
 * names, on timeout, the operators it did not hear from.
 */
import type { Envelope, MessageKind, Messages } from "./messages.js";

export interface CeremonyNetwork {
  /** Resolves once the message is on its way to operator `to`; rejects if it cannot be sent now. */
  send<K extends MessageKind>(to: number, kind: K, body: Messages[K]): Promise<void>;
  /**
   * Sets the one receiver of incoming messages. A network keeps what arrives before it is set
   * and hands it over then, so no early message of a faster peer is lost.
   */
  receive(handler: (from: number, message: Envelope) => void): void;
}

/**
 * The messages a ceremony has received, by kind and sender, up to a bound per sender (the rest
 * are dropped: a peer cannot make this node buffer without limit), and a way to wait for some.
 */
export class Inbox {
  private readonly messages = new Map<MessageKind, Map<number, unknown[]>>();
  private readonly waiters = new Set<() => void>();

  /** `limits`: how many messages of each kind one sender may have buffered. */
  constructor(private readonly limits: { readonly [K in MessageKind]?: number }) {}

  /** Keeps the message unless its sender is over the limit; returns whether it was kept. */
  put(from: number, message: Envelope): boolean {
    let bySender = this.messages.get(message.kind);
    if (bySender === undefined) this.messages.set(message.kind, (bySender = new Map()));
    let list = bySender.get(from);
    if (list === undefined) bySender.set(from, (list = []));
    if (list.length >= (this.limits[message.kind] ?? 1)) return false;
    list.push(message.body);
    for (const wake of this.waiters) wake();
    return true;
  }

  /** What `from` sent of `kind`, in arrival order. */
  all<K extends MessageKind>(kind: K, from: number): Messages[K][] {
    return (this.messages.get(kind)?.get(from) ?? []) as Messages[K][];
  }

  first<K extends MessageKind>(kind: K, from: number): Messages[K] | undefined {
    return this.all(kind, from)[0];
  }

  /**
   * Resolves true once `done()` holds (checked now and after every message), false at
   * `deadline` (a performance.now() time) or when `signal` aborts.
   */
  until(done: () => boolean, deadline: number, signal?: AbortSignal): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal?.removeEventListener("abort", abort);
        resolve(result);
      };
      const check = () => {
        if (done()) finish(true);
      };
      const abort = () => finish(false);
      const timer = setTimeout(() => finish(done()), Math.max(0, deadline - performance.now()));
      this.waiters.add(check);
      signal?.addEventListener("abort", abort);
    });
  }
}
