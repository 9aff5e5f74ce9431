import { describe, expect, it } from "@jest/globals";
import { TokenBucket } from "./ratelimit.js";

describe("TokenBucket", () => {
  it("allows a burst, then the sustained rate", () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([0, 0, 0, 0].map(() => bucket.tryTake(0))).toEqual([true, true, true, false]);
    expect(bucket.tryTake(50)).toBe(false); // half a token
    expect(bucket.tryTake(100)).toBe(true);
    expect(bucket.tryTake(100)).toBe(false);
  });

  it("refills no further than the burst", () => {
    const bucket = new TokenBucket(10, 2, 0);
    bucket.tryTake(0);
    bucket.tryTake(0);
    const after = [10_000, 10_000, 10_000].map((t) => bucket.tryTake(t));
    expect(after).toEqual([true, true, false]);
  });
});
