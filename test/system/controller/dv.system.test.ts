import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { AuthorizationV1Api, BatchV1Api, CoreV1Api, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type ApiException } from "@kubernetes/client-node";
import { examples, pubkey } from "../../../controller/api/examples.js";
import type { DistributedValidator, KeyShare } from "../../../controller/api/v1alpha1.js";
import { eventually, startControllerCluster, type TestCluster } from "./cluster.js";

const NS = "dv";
const OPERATORS = ["op-1", "op-2", "op-3", "op-4"];

describe("the controller running a DistributedValidator's DKG on a real API server", () => {
  let cluster: TestCluster;
  let objects: KubernetesObjectApi;
  let core: CoreV1Api;
  let batch: BatchV1Api;

  beforeAll(async () => {
    cluster = await startControllerCluster(NS, { identity: "dv" });
    objects = KubernetesObjectApi.makeApiClient(cluster.kc);
    core = cluster.kc.makeApiClient(CoreV1Api);
    batch = cluster.kc.makeApiClient(BatchV1Api);
  }, 120_000);
  afterAll(() => cluster?.stop());

  const read = () => objects.read<DistributedValidator>({ apiVersion: "nektar.network/v1alpha1", kind: "DistributedValidator", metadata: { name: "dv-1", namespace: NS } });
  const condition = (o: DistributedValidator, type: string) => o.status?.conditions?.find((c) => c.type === type);

  it("waits, Pending, for operators that do not exist yet", async () => {
    await objects.create({ ...examples.operator("op-1"), metadata: { name: "op-1", namespace: NS } });
    await objects.create({ ...examples.distributedValidator("dv-1", OPERATORS), metadata: { name: "dv-1", namespace: NS } });
    await eventually(async () => {
      const dv = await read();
      expect(dv.status?.phase).toBe("Pending");
      expect(condition(dv, "Degraded")).toMatchObject({ status: "True", reason: "OperatorNotFound" });
      expect(condition(dv, "Degraded")?.message).toMatch(/op-2, op-3, op-4/);
    });
  });

  it("runs one DKG Job per operator, with that operator's identity, and reports Running", async () => {
    for (const name of OPERATORS.slice(1)) await objects.create({ ...examples.operator(name), metadata: { name, namespace: NS } });
    await eventually(async () => {
      const jobs = await batch.listNamespacedJob({ namespace: NS });
      expect(jobs.items.map((j) => j.metadata?.name).sort()).toEqual(["dv-1-dkg-1", "dv-1-dkg-2", "dv-1-dkg-3", "dv-1-dkg-4"]);
      const third = jobs.items.find((j) => j.metadata?.name === "dv-1-dkg-3")!;
      expect(third.spec?.template.spec?.volumes).toContainEqual({ name: "identity", secret: { secretName: "op-3-identity", defaultMode: 0o400 } });
      expect(third.spec?.template.spec?.containers[0]?.args).toEqual(expect.arrayContaining(["--share-index", "3", "--output-secret", "dv-1-dkg-output-3"]));
      expect(third.spec?.template.spec?.serviceAccountName).toBe("dv-1-dkg");
      const dv = await read();
      expect(dv.status?.phase).toBe("Running");
      expect(condition(dv, "Progressing")).toMatchObject({ status: "True", reason: "DkgRunning", message: "0/4 operators finished the DKG" });
    });
  });

  it("lets the DKG Jobs create their output Secrets, and nothing else", async () => {
    const can = async (verb: string, resource: string) =>
      (await cluster.kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({ body: { spec: { user: `system:serviceaccount:${NS}:dv-1-dkg`, resourceAttributes: { verb, resource, namespace: NS } } } })).status?.allowed;
    await eventually(async () => expect(await can("create", "secrets")).toBe(true));
    expect(await can("get", "secrets")).toBe(false);
    expect(await can("create", "configmaps")).toBe(false);
  });

  it("creates the KeyShares and deposit data once every Job succeeded", async () => {
    // Stand in for the DKG pods (their image is not built here): each writes its output Secret
    // and exits 0, which the kubelet would report as the pod's phase.
    const validators = [0, 1].map((v) => ({ pubkey: pubkey(900 + v), publicShares: OPERATORS.map((_, i) => pubkey(1000 + 10 * v + i)) }));
    const lock = { lockHash: `0x${"ab".repeat(32)}`, validators };
    for (const [i] of OPERATORS.entries()) {
      await core.createNamespacedSecret({
        namespace: NS,
        body: {
          metadata: { name: `dv-1-dkg-output-${i + 1}` },
          stringData: { "lock.json": JSON.stringify(lock), "deposit-data.json": '[{"pubkey":"..."}]', "password.txt": "pw", "keystore-0.json": "{}", "keystore-1.json": "{}" },
        },
      });
    }
    const pods = await eventually(async () => {
      const list = await core.listNamespacedPod({ namespace: NS, labelSelector: "app.kubernetes.io/instance=dv-1" });
      if (list.items.length < OPERATORS.length) throw new Error(`${list.items.length} DKG pods`);
      return list.items;
    });
    const now = new Date().toISOString();
    for (const pod of pods) {
      await core.patchNamespacedPodStatus(
        {
          namespace: NS,
          name: pod.metadata!.name!,
          body: { status: { phase: "Succeeded", conditions: [{ type: "Ready", status: "False", lastTransitionTime: now, reason: "PodCompleted" }], containerStatuses: [{ name: "dkg", image: "x", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: "Completed", startedAt: now, finishedAt: now } } }] } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    }

    await eventually(async () => {
      const dv = await read();
      expect(dv.status).toMatchObject({ phase: "Succeeded", lockHash: lock.lockHash, validatorPubkeys: validators.map((v) => v.pubkey), depositDataConfigMap: "dv-1-deposit-data" });
      expect(condition(dv, "Ready")).toMatchObject({ status: "True", reason: "KeySharesCreated" });
    }, 60_000);
    const keyShares = await objects.list<KeyShare>("nektar.network/v1alpha1", "KeyShare", NS);
    expect(keyShares.items).toHaveLength(8);
    const share = keyShares.items.find((ks) => ks.metadata?.name === "dv-1-v1-s3")!;
    expect(share.spec).toMatchObject({ operatorRef: { name: "op-3" }, validatorPubkey: validators[1]!.pubkey, shareIndex: 3, threshold: 3, totalShares: 4, keystoreSecretRef: { name: "dv-1-dkg-output-3", keystoreKey: "keystore-1.json" } });
    expect(share.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "DistributedValidator", name: "dv-1" });
    expect((await core.readNamespacedConfigMap({ namespace: NS, name: "dv-1-deposit-data" })).data?.["deposit-data.json"]).toBe('[{"pubkey":"..."}]');
    // The shares reach their operators' nodes.
    await eventually(async () => {
      const secret = await core.readNamespacedSecret({ namespace: NS, name: "op-3-keyshares" });
      expect(Object.keys(secret.data ?? {}).filter((k) => k.endsWith(".keystore.json")).sort()).toEqual(["dv-1-v0-s3.keystore.json", "dv-1-v1-s3.keystore.json"]);
    }, 30_000);
  }, 90_000);

  it("refuses a change of its spec", async () => {
    const error = await objects
      .patch({ apiVersion: "nektar.network/v1alpha1", kind: "DistributedValidator", metadata: { name: "dv-1", namespace: NS }, spec: { validators: 3 } } as DistributedValidator, undefined, undefined, "test", undefined, PatchStrategy.MergePatch)
      .catch((e: unknown) => e);
    expect((error as ApiException<string>).body).toMatch(/spec is immutable/);
  });
});
