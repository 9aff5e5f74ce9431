import { beforeAll, describe, expect, it } from "@jest/globals";
import { toHex } from "../core/hex.js";
import { type Identity, generateIdentity } from "../core/p2p/identity.js";
import { type ClusterLock, type UnsignedLock, lockHash, parseLock, signLockHash } from "../core/cluster/lock.js";
import { runInMemory, testDefinition } from "./testing.js";

/** The lock as a JSON file would hold it, to be altered by a test. */
function clone(lock: ClusterLock): ClusterLock {
  return JSON.parse(JSON.stringify(lock)) as ClusterLock;
}

/** Re-hashes and re-signs an altered lock with every operator's identity: only the content checks can object. */
async function resigned(lock: ClusterLock, identities: readonly Identity[]): Promise<ClusterLock> {
  const { lockHash: _hash, signatures: _signatures, ...unsigned } = lock;
  const hash = lockHash(unsigned as UnsignedLock);
  const signatures = await Promise.all(identities.map(async (id) => toHex(await signLockHash(hash, id))));
  return { ...lock, lockHash: toHex(hash), signatures };
}

describe("cluster lock", () => {
  let identities: Identity[];
  let lock: ClusterLock;
  beforeAll(async () => {
    identities = Array.from({ length: 3 }, generateIdentity);
    const results = await runInMemory(await testDefinition(identities, { numValidators: 2 }), identities);
    lock = results[0]!.lock;
  });

  it("parses a lock every operator signed", async () => {
    expect(await parseLock(clone(lock), "lock.json")).toEqual(lock);
  });

  it("refuses content that is not what was hashed and signed", async () => {
    const changed = clone(lock);
    changed.validators[1]!.publicShares[0] = changed.validators[0]!.publicShares[0]!;
    await expect(parseLock(changed, "lock.json")).rejects.toThrow(/^lock\.json: lockHash 0x[0-9a-f]{64} is not the hash of the lock's contents/);

    const { lockHash: _hash, signatures: _signatures, ...unsigned } = changed;
    const rehashed = { ...changed, lockHash: toHex(lockHash(unsigned)) };
    await expect(parseLock(rehashed, "lock.json")).rejects.toThrow(/^lock\.json: signatures\/0: not op-0's signature of lock hash/);
  });

  it("refuses a missing or misplaced signature", async () => {
    await expect(parseLock({ ...clone(lock), signatures: lock.signatures.slice(0, 2) }, "lock.json")).rejects.toThrow("lock.json: 2 signatures for 3 operators");
    const swapped = clone(lock);
    swapped.signatures = [lock.signatures[1]!, lock.signatures[0]!, lock.signatures[2]!];
    await expect(parseLock(swapped, "lock.json")).rejects.toThrow(/signatures\/0: not op-0's signature/);
  });

  it("refuses a changed definition, whose operators' signatures no longer match", async () => {
    const changed = clone(lock);
    changed.definition.feeRecipient = "0x000000000000000000000000000000000000dEaD";
    await expect(parseLock(await resigned(changed, identities), "lock.json")).rejects.toThrow(/lock\.json: definition: operators\/0\/signature: not op-0's signature/);
  });

  it("checks the keys and deposits even when every operator signed them", async () => {
    const swapped = clone(lock);
    const shares = swapped.validators[0]!.publicShares;
    [shares[0], shares[1]] = [shares[1]!, shares[0]!];
    await expect(parseLock(await resigned(swapped, identities), "lock.json")).rejects.toThrow(
      /lock\.json: validators\/0: the public shares do not recover the validator key/,
    );

    const otherAmount = clone(lock);
    otherAmount.validators[1]!.depositData.amount = 1_000_000_000;
    await expect(parseLock(await resigned(otherAmount, identities), "lock.json")).rejects.toThrow(/lock\.json: validators\/1\/depositData: .*signature/);

    const otherKey = clone(lock);
    otherKey.validators[0]!.depositData = lock.validators[1]!.depositData;
    await expect(parseLock(await resigned(otherKey, identities), "lock.json")).rejects.toThrow(/validators\/0\/depositData: for pubkey 0x[0-9a-f]+, not the validator's/);
  });

  it("refuses what is not a lock, naming the field", async () => {
    await expect(parseLock({ ...clone(lock), validators: [] }, "lock.json")).rejects.toThrow(/^lock\.json: validators: /);
    await expect(parseLock({ ...clone(lock), version: "v0" }, "lock.json")).rejects.toThrow(/^lock\.json: version: /);
  });
});
