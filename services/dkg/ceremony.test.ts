/**
 * The ceremony's protocol edge cases, over the in-memory network (messages still SSZ-encoded):
 * fast, and able to drop or alter what one operator sends. The same ceremonies over real libp2p
 * are in dkg.test.ts.
 */
import { describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { verify } from "@chainsafe/blst";
import { FR_ORDER, add, parsePublicKey, recoverSignature, signPartial } from "../core/crypto/index.js";
import { verifyDepositData } from "../core/eth/index.js";
import { fromHex } from "../core/hex.js";
import { generateIdentity } from "../core/p2p/identity.js";
import { CeremonyError, type CeremonyResult, runCeremony } from "./ceremony.js";
import { parseLock } from "./lock.js";
import { MemoryHub } from "./memory.js";
import type { CeremonyNetwork } from "./network.js";
import { runInMemory, testDefinition } from "./testing.js";

/** Signs a random message with `ids`' shares of validator v and checks the recovered signature. */
function thresholdSigns(results: readonly CeremonyResult[], ids: readonly number[], v: number): boolean {
  const lock = results[0]!.lock;
  const message = randomBytes(32);
  const partials = ids.map((id) => signPartial({ id, value: results[id - 1]!.shares[v]! }, message));
  const signature = recoverSignature(partials, lock.definition.threshold);
  return verify(message, parsePublicKey(fromHex(lock.validators[v]!.pubkey, "pubkey"), "pubkey"), signature);
}

describe("DKG ceremony (in memory)", () => {
  it("makes keys any t operators sign for, one lock for all, valid deposit data", async () => {
    const identities = Array.from({ length: 4 }, generateIdentity);
    const definition = await testDefinition(identities, { numValidators: 3 });
    const results = await runInMemory(definition, identities);

    const lock = results[0]!.lock;
    for (const r of results) expect(r.lock).toEqual(lock);
    expect(await parseLock(JSON.parse(JSON.stringify(lock)), "lock")).toEqual(lock);
    expect(results.map((r) => r.shareId)).toEqual([1, 2, 3, 4]);
    expect(results.every((r) => r.disqualified.length === 0)).toBe(true);
    for (let v = 0; v < 3; v++) {
      expect(thresholdSigns(results, [1, 2, 3], v)).toBe(true);
      expect(thresholdSigns(results, [2, 4, 3], v)).toBe(true);
      // Two shares are not enough.
      const two = [1, 2].map((id) => signPartial({ id, value: results[id - 1]!.shares[v]! }, new Uint8Array(32)));
      expect(() => recoverSignature(two, 3)).toThrow(/threshold is 3/);
    }
    expect(verifyDepositData(lock.validators.map((v) => v.depositData))).toEqual([]);
    expect(new Set(lock.validators.map((v) => v.pubkey)).size).toBe(3);
  });
});
