/**
 * The scheduler alone against the beacon double (real HTTP and head events, 600 ms slots): which
 * duties it starts when a scripted re-org moves the next epoch's attesters, and when a validator
 * of the lock becomes known after start. What a cluster then does with them is
 * test/signer/reorg.test.ts's.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ForkName } from "@lodestar/params";
import { Registry } from "prom-client";
import { BeaconDouble } from "../../test/doubles/beacon/double.js";
import { interopSecretKey } from "../../test/system/lodestar/interop.js";
import { BeaconClient } from "../core/eth/beacon/index.js";
import { createLogger } from "../core/log/index.js";
import { Chain } from "./chain.js";
import { DutyType, dutyKey } from "./duties.js";
import { SignerMetrics } from "./metrics.js";
import { Results } from "./results.js";
import { Scheduler } from "./scheduler.js";

const SLOT_MS = 600;
const SLOTS_PER_EPOCH = 4;
/** The lock's validators as interop indices: 8 is not on the chain until the test adds it. */
const LOCK = [0, 1, 2, 3, 8];

function untilSlot(double: BeaconDouble, slot: number, fraction = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, double.slotStartMs(slot) + fraction * SLOT_MS - Date.now())));
}

describe("Scheduler re-plans after a re-org and plans validators that become known", () => {
  let double: BeaconDouble;
  let scheduler: Scheduler;
  const registry = new Registry();
  /** Every duty key the scheduler started, in order. */
  const started: string[] = [];
  const refetched = async (reason: string) => (await registry.getSingleMetric("nektar_signer_duties_refetched_total")!.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  let before: { reorg: number; activation: number };
  /** The slots epoch 2's attesters had before the re-org, and after. */
  let moved: { before: (number | undefined)[]; after: (number | undefined)[] };

  beforeAll(async () => {
    double = await BeaconDouble.start({ slotMs: SLOT_MS, slotsPerEpoch: SLOTS_PER_EPOCH, validators: 8, fork: ForkName.electra, genesisDelayMs: 1_000 });
    const beacon = new BeaconClient(double.url);
    const chain = await Chain.load(beacon, Date.now);
    scheduler = new Scheduler({
      chain,
      beacon,
      pubkeys: LOCK.map((i) => interopSecretKey(i).toPublicKey().toBytes()),
      types: new Set([DutyType.Attester]),
      results: new Results(() => undefined),
      onDuty: (duty) => started.push(dutyKey(duty.id)),
      onEpoch: () => undefined,
      metrics: new SignerMetrics(registry),
      log: createLogger("scheduler-test"),
    });
    await scheduler.start(true);

    // Epoch 2's duties are fetched as epoch 1 starts (slot 4). Mid-slot 5, a re-org replaces the
    // last block of epoch 0, which they depend on; and validator 8 is deposited.
    await untilSlot(double, 5, 0.5);
    before = { reorg: await refetched("reorg"), activation: await refetched("activation") };
    const epoch2 = [0, 1, 2, 3].map((v) => double.attesterSlot(v, 2));
    double.reorg(SLOTS_PER_EPOCH - 1);
    moved = { before: epoch2, after: [0, 1, 2, 3].map((v) => double.attesterSlot(v, 2)) };
    expect(double.addValidator()).toBe(8);
    await untilSlot(double, 14);
  }, 60_000);

  afterAll(async () => {
    scheduler?.stop();
    await double?.stop();
  });

  it("starts the moved attesters at their new slots, not the old ones, and counts the refetch", async () => {
    expect(moved.after).not.toEqual(moved.before); // the script did move them
    const epoch2 = started.filter((key) => /^attester\/(8|9|10|11)\/v[0-3]$/.test(key)).sort();
    expect(epoch2).toEqual(moved.after.map((slot, v) => `attester/${slot}/v${v}`).sort());
    expect(before.reorg).toBe(0);
    // Epoch 1 (its proposers depend on the replaced block) and epoch 2 (its attesters do).
    expect(await refetched("reorg")).toBe(2);
  });

  it("starts no duty twice, including those of the re-fetched epoch that had started", () => {
    expect(new Set(started).size).toBe(started.length);
    // Epoch 1's attesters were unmoved, half of them already started when it was fetched again.
    for (const v of [0, 1, 2, 3]) expect(started.filter((key) => key === `attester/${double.attesterSlot(v, 1)}/v${v}`)).toHaveLength(1);
  });

  it("plans a validator the beacon node did not know at start once it is known, from its activation", async () => {
    const late = started.filter((key) => key.endsWith("/v4")); // lock position 4: interop validator 8
    expect(late).toContain(`attester/${double.attesterSlot(8, 3)}/v4`);
    for (const key of late) {
      const slot = Number(key.split("/")[1]);
      expect(slot).toBe(double.attesterSlot(8, Math.floor(slot / SLOTS_PER_EPOCH)));
    }
    expect(scheduler.validatorIndex(4)).toBe(8);
    expect(before.activation).toBe(0);
    expect(await refetched("activation")).toBe(1);
  });
});
