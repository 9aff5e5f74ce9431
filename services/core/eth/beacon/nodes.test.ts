import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { BeaconDouble } from "../../../../test/doubles/beacon/double.js";
import { BeaconClient } from "./client.js";
import { AllBeaconNodesFailedError, BeaconNodes } from "./nodes.js";
import { BeaconApiError } from "./transport.js";

describe("BeaconNodes: failover between beacon nodes", () => {
  let first: BeaconDouble;
  let second: BeaconDouble;
  let now = 0;
  const clock = () => now;

  beforeAll(async () => {
    [first, second] = await Promise.all([BeaconDouble.start({ version: "first" }), BeaconDouble.start({ version: "second" })]);
  });
  afterEach(async () => {
    for (const double of [first, second]) {
      double.heal();
      double.requests.length = 0;
      await double.up();
    }
  });
  afterAll(() => Promise.all([first.stop(), second.stop()]));

  const nodes = (options = {}) => new BeaconNodes([first.url, second.url], { cooldownMs: 1000, now: clock, ...options });

  it("asks the first node while it answers", async () => {
    const client = new BeaconClient(nodes());
    expect(await client.nodeVersion()).toBe("first");
    expect(await client.nodeVersion()).toBe("first");
    expect(second.requests).toEqual([]);
  });

  it("fails over when a node is down, and keeps asking the other until the cooldown ends", async () => {
    const beacon = nodes();
    const client = new BeaconClient(beacon);
    await first.down();
    expect(await client.nodeVersion()).toBe("second");
    expect(beacon.states().map((s) => s.baseUrl)).toEqual([second.url, first.url]);
    expect(beacon.states()[1]?.lastError?.failure).toBe("unreachable");

    await first.up();
    now += 500;
    expect(await client.nodeVersion()).toBe("second"); // still cooling down: not asked
    expect(first.requests).toEqual([]);
    now += 600;
    expect(await client.nodeVersion()).toBe("first");
  });

  it("fails over on a 5xx and on a timeout", async () => {
    const client = new BeaconClient(nodes({ timeoutMs: 100 }));
    first.fail({ status: 503, times: 1 });
    expect(await client.nodeVersion()).toBe("second");
    now += 2000;
    first.delay(400);
    expect(await client.nodeVersion()).toBe("second");
  });

  it("does not ask another node after a 4xx: the request is wrong everywhere", async () => {
    const client = new BeaconClient(nodes());
    first.fail({ status: 400, path: "/eth/v1/validator/attestation_data" });
    await expect(client.attestationData(3, 0)).rejects.toBeInstanceOf(BeaconApiError);
    expect(second.requests).toEqual([]);
  });

  it("reports every node's error when none answers", async () => {
    const client = new BeaconClient(nodes());
    first.fail({ status: 500 });
    await second.down();
    const error = await client.genesis().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllBeaconNodesFailedError);
    expect((error as AllBeaconNodesFailedError).errors.map((e) => e.baseUrl)).toEqual([first.url, second.url]);
    expect((error as Error).message).toMatch(/no beacon node answered GET \/eth\/v1\/beacon\/genesis/);
  });

  it("moves a syncing node back, and forward again once it is ready, by checking health", async () => {
    const beacon = nodes();
    first.syncing = true;
    await beacon.checkHealth();
    expect(beacon.states().map((s) => s.baseUrl)).toEqual([second.url, first.url]);
    expect(await new BeaconClient(beacon).nodeVersion()).toBe("second");
    first.syncing = false;
    await beacon.checkHealth();
    expect(beacon.states()[0]?.baseUrl).toBe(first.url);
  });

  it("needs at least one node", () => {
    expect(() => new BeaconNodes([])).toThrow(/at least one URL/);
  });
});
