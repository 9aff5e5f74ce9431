import { describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { Signature, verify } from "@chainsafe/blst";
import { Registry } from "prom-client";
import { parsePublicKey, parseSignature, secretKeyFromScalar } from "../core/crypto/index.js";
import { fromHex } from "../core/hex.js";
import { createLogger } from "../core/log/index.js";
import type { DutyId } from "./duties.js";
import { SignerMetrics } from "./metrics.js";
import { type Aggregate, SigAgg } from "./sigagg.js";
import { testLock } from "./testing.js";

const id: DutyId = { type: "attester", slot: 7, validator: 0 };
const root = new Uint8Array(32).fill(7);

async function setup() {
  const { lock, shares } = await testLock({ n: 4, threshold: 3, secrets: [12345n], genesisForkVersion: "0x00000001" });
  const aggregates: Aggregate[] = [];
  const registry = new Registry();
  const sigagg = new SigAgg(lock, (a) => aggregates.push(a), new SignerMetrics(registry), createLogger("test"));
  const partial = (operator: number, message = root) => secretKeyFromScalar(shares[operator]![0]!).sign(message).toBytes();
  const pubkey = parsePublicKey(fromHex(lock.validators[0]!.pubkey, "pubkey", 48), "pubkey");
  return { sigagg, aggregates, partial, pubkey, registry };
}

describe("sigagg", () => {
  it("recovers the validator's signature from t partials of one root, once", async () => {
    const { sigagg, aggregates, partial, pubkey } = await setup();
    sigagg.add(id, root, 1, partial(0), "self");
    sigagg.add(id, root, 3, partial(2), "peer");
    expect(aggregates).toEqual([]);
    sigagg.add(id, root, 4, partial(3), "peer");
    sigagg.add(id, root, 2, partial(1), "peer");
    expect(aggregates).toHaveLength(1);
    expect(verify(root, pubkey, parseSignature(aggregates[0]!.signature, "signature"))).toBe(true);
  });

  it("counts partials per root: t split over two roots recovers nothing", async () => {
    const { sigagg, aggregates, partial } = await setup();
    const other = new Uint8Array(32).fill(8);
    sigagg.add(id, root, 1, partial(0), "peer");
    sigagg.add(id, root, 2, partial(1), "peer");
    sigagg.add(id, other, 3, partial(2, other), "peer");
    sigagg.add(id, other, 4, partial(3, other), "peer");
    expect(aggregates).toEqual([]);
    expect(sigagg.counts(id)).toEqual(new Map([["0x" + "07".repeat(32), 2], ["0x" + "08".repeat(32), 2]]));
  });

  it("drops a partial that is not its sender's share, and recovers from the next valid one", async () => {
    const { sigagg, aggregates, partial, pubkey, registry } = await setup();
    sigagg.add(id, root, 1, partial(0), "peer");
    sigagg.add(id, root, 2, partial(3), "peer"); // operator 3's share, sent as share 2's
    sigagg.add(id, root, 3, partial(2), "peer");
    expect(aggregates).toEqual([]);
    sigagg.add(id, root, 4, partial(3), "peer");
    expect(aggregates).toHaveLength(1);
    expect(verify(root, pubkey, parseSignature(aggregates[0]!.signature, "signature"))).toBe(true);
    const invalid = (await registry.getSingleMetric("nektar_signer_partials_received_total")!.get()).values.find((v) => v.labels.result === "invalid");
    expect(invalid?.value).toBe(1);
  });

  it("drops a point of the curve outside G2 once recovery fails, and recovers from the next valid partial", async () => {
    const { sigagg, aggregates, partial, pubkey, registry } = await setup();
    sigagg.add(id, root, 1, partial(0), "peer");
    sigagg.add(id, root, 2, curvePointOutsideG2(), "peer");
    sigagg.add(id, root, 3, partial(2), "peer");
    expect(aggregates).toEqual([]);
    sigagg.add(id, root, 4, partial(3), "peer");
    expect(aggregates).toHaveLength(1);
    expect(verify(root, pubkey, parseSignature(aggregates[0]!.signature, "signature"))).toBe(true);
    const invalid = (await registry.getSingleMetric("nektar_signer_partials_received_total")!.get()).values.find((v) => v.labels.result === "invalid");
    expect(invalid?.value).toBe(1);
  });

  it("drops bytes that are not a point of the curve", async () => {
    const { sigagg, aggregates, partial, registry } = await setup();
    sigagg.add(id, root, 1, new Uint8Array(96).fill(1), "peer");
    sigagg.add(id, root, 2, partial(1), "peer");
    sigagg.add(id, root, 3, partial(2), "peer");
    expect(aggregates).toEqual([]);
    const invalid = (await registry.getSingleMetric("nektar_signer_partials_received_total")!.get()).values.find((v) => v.labels.result === "invalid_point");
    expect(invalid?.value).toBe(1);
  });
});

/** A compressed point of the twist that is almost surely not in G2 (the cofactor is huge). */
function curvePointOutsideG2(): Uint8Array {
  for (;;) {
    const bytes = randomBytes(96);
    bytes[0] = (bytes[0]! & 0x1f) | 0x80; // compressed, not infinity
    try {
      Signature.fromBytes(bytes, false);
      return bytes;
    } catch {
      // x had no point: try another
    }
  }
}
