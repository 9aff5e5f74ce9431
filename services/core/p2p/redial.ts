/**
 * Reconnection: an operator that drops is dialed again, with exponential backoff and jitter, until
 * it is back or the host stops. libp2p's own reconnect queue gives up after a fixed number of
 * tries and does not retry peers that were down at start; a cluster member is never given up on.
 */
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../log/index.js";

export interface Backoff {
  /** The first retry waits up to this long; each failure doubles it. */
  initialMs: number;
  /** The longest wait between two tries. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 10_000 };

/** The wait after `attempt` failed tries (0-based): "equal jitter", between half and all of the ceiling. */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempt);
  return ceiling / 2 + (random() * ceiling) / 2;
}

export class Redialer {
  private readonly loops = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly dial: (peerId: string, signal: AbortSignal) => Promise<void>,
    private readonly isConnected: (peerId: string) => boolean,
    private readonly backoff: Backoff,
    private readonly log: Logger,
  ) {
    // One signal stops every loop; each dial in flight listens on it.
    setMaxListeners(Infinity, this.abort.signal);
  }

  /** Dials `peerId` until connected, after `delayMs`, unless that is already under way. */
  redial(peerId: string, delayMs = 0): void {
    if (this.loops.has(peerId) || this.abort.signal.aborted) return;
    this.loops.set(
      peerId,
      this.loop(peerId, delayMs).finally(() => this.loops.delete(peerId)),
    );
  }

  /** Stops every loop and waits for them to end. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops.values());
  }

  private async loop(peerId: string, delayMs: number): Promise<void> {
    const signal = this.abort.signal;
    if (delayMs > 0) await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    for (let attempt = 0; !signal.aborted && !this.isConnected(peerId); attempt++) {
      try {
        await this.dial(peerId, signal);
        return;
      } catch (err) {
        if (signal.aborted) return;
        const delay = backoffDelay(attempt, this.backoff);
        this.log.debug({ peerId, attempt, delayMs: Math.round(delay), err: (err as Error).message }, "dial failed, retrying");
        await sleep(delay, undefined, { signal }).catch(() => undefined);
      }
    }
  }
}
