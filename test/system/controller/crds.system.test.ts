import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ApiException, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { request } from "node:https";
import { examples, pubkey } from "../../../controller/api/examples.js";
import { createNamespace, installCrds, startCluster, type TestCluster } from "./cluster.js";

const NS = "crds";

describe("nektar CRDs on a real API server", () => {
  let cluster: TestCluster;
  let objects: KubernetesObjectApi;

  beforeAll(async () => {
    cluster = await startCluster();
    await installCrds(cluster.kc);
    await createNamespace(cluster.kc, NS);
    objects = KubernetesObjectApi.makeApiClient(cluster.kc);
  }, 120_000);
  afterAll(() => cluster?.stop());

  const inNs = <T extends KubernetesObject>(o: T): T => ({ ...o, metadata: { ...o.metadata, namespace: NS } });

  /** The API server's message for refusing `o`, or fails if it was accepted. */
  async function refusal(o: KubernetesObject & { spec: unknown }, dryRun = "All"): Promise<string> {
    const error = await objects.create(inNs(o), undefined, dryRun).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof ApiException)) throw new Error(`accepted: ${JSON.stringify(o)}`);
    expect(error.code).toBe(422);
    return (JSON.parse(error.body as string) as { message: string }).message;
  }

  it("accepts a valid resource of each kind", async () => {
    for (const o of [
      examples.operator("op-1"),
      examples.keyShare("ks-1", "op-1", 1),
      examples.avsSubscription("avs-1", "op-1"),
      examples.distributedValidator("dv-1", ["op-1", "op-2", "op-3", "op-4"]),
    ]) {
      const created = await objects.create(inNs(o));
      expect(created.metadata?.uid).toBeDefined();
    }
  });

  it("applies schema defaults", async () => {
    const o = examples.operator("op-defaults");
    const created = (await objects.create(inNs({ ...o, spec: { ...o.spec, p2p: {} } }))) as typeof o;
    expect(created.spec.p2p?.port).toBe(9000);
  });

  it("refuses malformed keys, addresses and URLs, naming the field", async () => {
    const ks = examples.keyShare("bad-key", "op-1", 1);
    expect(await refusal({ ...ks, spec: { ...ks.spec, validatorPubkey: "0x1234" } })).toMatch(/spec\.validatorPubkey/);
    const op = examples.operator("bad-op");
    const avs = examples.avsSubscription("bad-avs", "op-1");
    expect(await refusal({ ...op, spec: { ...op.spec, beaconNodeUrls: ["ftp://beacon"] } })).toMatch(/spec\.beaconNodeUrls\[0\]/);
    expect(await refusal({ ...op, spec: { ...op.spec, network: "ropsten" } })).toMatch(/spec\.network/);
    expect(await refusal({ ...op, spec: { ...op.spec, p2p: { port: 80 } } })).toMatch(/spec\.p2p\.port/);
    expect(await refusal({ ...avs, spec: { ...avs.spec, contracts: { ...avs.spec.contracts, taskManager: `0x${"AB".repeat(20)}` } } })).toMatch(/spec\.contracts\.taskManager/);
    expect(await refusal({ ...op, spec: { ...op.spec, address: "0x1234" } })).toMatch(/spec\.address/);
  });

  it("refuses inconsistent fields with CEL rules naming the field", async () => {
    const ks = examples.keyShare("bad-threshold", "op-1", 1);
    expect(await refusal({ ...ks, spec: { ...ks.spec, threshold: 5 } })).toMatch(/spec\.threshold: Invalid value.*threshold must not exceed totalShares/);
    expect(await refusal({ ...ks, spec: { ...ks.spec, shareIndex: 5 } })).toMatch(/spec\.shareIndex.*shareIndex must not exceed totalShares/);
    expect(await refusal({ ...ks, spec: { ...ks.spec, publicShares: [pubkey(1)] } })).toMatch(/spec\.publicShares.*publicShares must have totalShares entries/);

    const dv = examples.distributedValidator("bad-dv", ["a", "b", "c", "d"]);
    expect(await refusal({ ...dv, spec: { ...dv.spec, threshold: 2 } })).toMatch(/spec\.threshold.*at least two thirds/);
    expect(await refusal({ ...dv, spec: { ...dv.spec, operators: ["a", "a", "b", "c"] } })).toMatch(/spec\.operators\[1\]: Duplicate value/);

    const avs = examples.avsSubscription("bad-executor", "op-1");
    expect(await refusal({ ...avs, spec: { ...avs.spec, executor: { url: "http://x", image: "ghcr.io/avs/executor:1" } } })).toMatch(
      /spec\.executor.*set exactly one of executor\.url and executor\.image/,
    );
  });

  it("publishes the field descriptions kubectl explain prints", async () => {
    const url = new URL("/openapi/v3/apis/nektar.network/v1alpha1", cluster.kube.server);
    const options = { hostname: url.hostname, port: url.port, path: url.pathname, headers: {} };
    await cluster.kc.applyToHTTPSOptions(options);
    const body = await new Promise<string>((resolve, reject) => {
      request(options, (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () => resolve(text));
      })
        .on("error", reject)
        .end();
    });
    type Schema = { description?: string; properties?: Record<string, Schema> };
    const schemas = (JSON.parse(body) as { components: { schemas: Record<string, Schema> } }).components.schemas;
    const keyShare = schemas["network.nektar.v1alpha1.KeyShare"];
    expect(keyShare?.properties?.spec?.properties?.shareIndex?.description).toBe("Index of this share (1-based), the x of its Shamir point.");
    expect(keyShare?.description).toMatch(/One share of one distributed validator/);
  });

  it("refuses changing immutable fields", async () => {
    const ks = inNs(examples.keyShare("immutable", "op-1", 1));
    await objects.create(ks);
    const read = await objects.read({ apiVersion: ks.apiVersion!, kind: ks.kind!, metadata: { name: "immutable", namespace: NS } });
    const error = await objects.replace({ ...read, spec: { ...ks.spec, shareIndex: 2 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<string>).body).toMatch(/spec\.shareIndex.*shareIndex is immutable/);
  });
});
