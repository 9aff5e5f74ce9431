/**
 * What a ceremony needs from the network, and nothing more: send a message to one operator, and
 * receive every message sent to this one. Operators are named by their index in the
 * definition. libp2p.ts implements it over the ClusterHost, memory.ts in memory for unit tests.
 *
 * A send may fail, and a failed one may still have arrived: the ceremony retries until a phase's
 * deadline, receivers ignore repeats, and whoever waits in vain names the operators it did not
 * hear from.
 */
import type { Envelope, MessageKind, Messages } from "./messages.js";

export interface CeremonyNetwork {
  /** Resolves once operator `to` has the message; rejects if that cannot be known within `timeoutMs`. */
  send<K extends MessageKind>(to: number, kind: K, body: Messages[K], timeoutMs: number): Promise<void>;
  /**
   * Sets the one receiver of incoming messages. A network keeps what arrives before it is set
   * and hands it over then, so no early message of a faster peer is lost.
   */
  receive(handler: (from: number, message: Envelope) => void): void;
}

/**
 * The messages a ceremony has received, by kind and sender. Each message has a key within its
 * kind (a deal chunk its offset, a justification its complainant); a repeat of a key is
 * ignored, the first one counts, and a sender gets at most `keys[kind]` keys (default 1), so no
 * peer can make this node buffer without limit.
 */
export class Inbox {
  private readonly messages = new Map<MessageKind, Map<number, Map<number, unknown>>>();
  private readonly waiters = new Set<() => void>();

  constructor(private readonly keys: { readonly [K in MessageKind]?: number }) {}

  /** Keeps the message if its key is new and within the sender's bound; returns whether it did. */
  put(from: number, message: Envelope, key: number): boolean {
    let bySender = this.messages.get(message.kind);
    if (bySender === undefined) this.messages.set(message.kind, (bySender = new Map()));
    let byKey = bySender.get(from);
    if (byKey === undefined) bySender.set(from, (byKey = new Map()));
    if (byKey.has(key) || byKey.size >= (this.keys[message.kind] ?? 1)) return false;
    byKey.set(key, message.body);
    for (const wake of this.waiters) wake();
    return true;
  }

  /** What `from` sent of `kind`, by key. */
  get<K extends MessageKind>(kind: K, from: number, key = 0): Messages[K] | undefined {
    return this.messages.get(kind)?.get(from)?.get(key) as Messages[K] | undefined;
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
