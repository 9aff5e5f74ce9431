import { describe, expect, it } from "@jest/globals";
import { WorkQueue } from "./workqueue.js";

describe("WorkQueue", () => {
  it("queues a key once however often it is added", async () => {
    const queue = new WorkQueue();
    const seen: string[] = [];
    queue.add("ns/a");
    queue.add("ns/b");
    queue.add("ns/a");
    const running = queue.run(async (key) => {
      seen.push(key);
      if (seen.length === 2) queue.shutDown();
      return "done";
    }, 1, () => undefined);
    await running;
    expect(seen).toEqual(["ns/a", "ns/b"]);
  });

  it("never runs one key twice at once, and reprocesses a key added while it ran", async () => {
    const queue = new WorkQueue();
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    queue.add("ns/a");
    await queue.run(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      if (runs === 1) queue.add("ns/a");
      await new Promise((resolve) => setTimeout(resolve, 10));
      active--;
      if (runs === 2) queue.shutDown();
      return "done";
    }, 4, () => undefined);
    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
  });

  it("retries a failing key with growing delays until it succeeds", async () => {
    const queue = new WorkQueue({ baseDelayMs: 10 });
    const times: number[] = [];
    const errors: unknown[] = [];
    queue.add("ns/a");
    await queue.run(async () => {
      times.push(Date.now());
      if (times.length < 4) throw new Error("conflict");
      queue.shutDown();
      return "done";
    }, 1, (_key, error) => errors.push(error));
    expect(errors).toHaveLength(3);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // 10, 20, 40 ms: each at least its delay (timers never fire early).
    expect(gaps[0]).toBeGreaterThanOrEqual(9);
    expect(gaps[1]).toBeGreaterThanOrEqual(19);
    expect(gaps[2]).toBeGreaterThanOrEqual(39);
  });

  it("requeues a key after the delay the worker asks for", async () => {
    const queue = new WorkQueue();
    let runs = 0;
    queue.add("ns/a");
    await queue.run(async () => {
      runs++;
      if (runs === 2) {
        queue.shutDown();
        return "done";
      }
      return { requeueAfterMs: 5 };
    }, 1, () => undefined);
    expect(runs).toBe(2);
  });

  it("lets a sooner delayed add overtake a later one", async () => {
    const queue = new WorkQueue();
    const start = Date.now();
    queue.addAfter("ns/a", 60_000);
    queue.addAfter("ns/a", 10);
    let elapsed = 0;
    await queue.run(async () => {
      elapsed = Date.now() - start;
      queue.shutDown();
      return "done";
    }, 1, () => undefined);
    expect(elapsed).toBeLessThan(30_000);
  });
});
