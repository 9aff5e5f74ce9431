import { describe, expect, it } from "@jest/globals";
import { createLogger } from "../log/index.js";
import { Redialer, backoffDelay } from "./redial.js";

describe("backoffDelay", () => {
  const backoff = { initialMs: 100, maxMs: 1000 };
  it("doubles its ceiling per failure up to the maximum, waiting between half and all of it", () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, backoff, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, backoff, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
  });
});

describe("Redialer", () => {
  const log = createLogger("test");

  it("dials until the dial succeeds, then stops", async () => {
    let attempts = 0;
    let connected = false;
    const done = Promise.withResolvers<void>();
    const redialer = new Redialer(
      async () => {
        attempts++;
        if (attempts < 4) throw new Error("ECONNREFUSED");
        connected = true;
        done.resolve();
      },
      () => connected,
      { initialMs: 1, maxMs: 5 },
      log,
    );
    redialer.redial("peer");
    redialer.redial("peer"); // already under way: no second loop
    await done.promise;
    await redialer.stop();
    expect(attempts).toBe(4);
  });

  it("does not dial a peer already connected", async () => {
    let attempts = 0;
    const redialer = new Redialer(async () => void attempts++, () => true, { initialMs: 1, maxMs: 5 }, log);
    redialer.redial("peer");
    await redialer.stop();
    expect(attempts).toBe(0);
  });

  it("stops dialing when stopped, even mid-backoff", async () => {
    let attempts = 0;
    const firstFailure = Promise.withResolvers<void>();
    const redialer = new Redialer(
      async () => {
        attempts++;
        firstFailure.resolve();
        throw new Error("ECONNREFUSED");
      },
      () => false,
      { initialMs: 60_000, maxMs: 60_000 },
      log,
    );
    redialer.redial("peer");
    await firstFailure.promise;
    await redialer.stop(); // would hang for a minute if the backoff sleep ignored the abort
    redialer.redial("peer"); // ignored once stopped
    expect(attempts).toBe(1);
  });
});
