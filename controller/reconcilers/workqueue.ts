/**
 * A rate-limited work queue of keys ("namespace/name"), with client-go's guarantees: a key is
 * queued at most once however often it is added; a key is never processed by two workers at
 * once (added while in progress, it is processed again afterwards); a failing key is retried
 * with per-key exponential backoff, reset by its first success.
 */

export interface WorkQueueOptions {
  /** Delay of the first retry; doubles per consecutive failure. */
  baseDelayMs?: number;
  /** Longest retry delay. */
  maxDelayMs?: number;
}

export type Worker = (key: string) => Promise<"done" | { requeueAfterMs: number }>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while being processed: queued again when their processing ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private readonly waiting: (() => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(options: WorkQueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 300_000;
  }

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.waiting.shift()?.();
  }

  /** Adds `key` after `ms`, or sooner if it is already due sooner. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    const due = Date.now() + ms;
    const pending = this.timers.get(key);
    if (pending !== undefined) {
      if (pending.due <= due) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { timer, due });
  }

  /** Runs `concurrency` workers until shutDown(); resolves when they have all stopped. */
  async run(worker: Worker, concurrency: number, onError: (key: string, error: unknown) => void): Promise<void> {
    const loop = async (): Promise<void> => {
      for (;;) {
        const key = await this.next();
        if (key === undefined) return;
        try {
          const result = await worker(key);
          this.failures.delete(key);
          if (result !== "done") this.addAfter(key, result.requeueAfterMs);
        } catch (error) {
          onError(key, error);
          const failures = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, failures);
          this.addAfter(key, Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (failures - 1)));
        } finally {
          this.processing.delete(key);
          if (this.dirty.delete(key)) this.add(key);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
  }

  /** Stops taking work: workers finish their current key and return. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const wake of this.waiting.splice(0)) wake();
  }

  private async next(): Promise<string | undefined> {
    while (this.queue.length === 0) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    if (this.shuttingDown) return undefined;
    const key = this.queue.shift()!;
    this.queued.delete(key);
    this.processing.add(key);
    return key;
  }
}
