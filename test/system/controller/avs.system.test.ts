import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ApiException, AppsV1Api, CoreV1Api, KubernetesObjectApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { examples } from "../../../controller/api/examples.js";
import type { AVSSubscription } from "../../../controller/api/v1alpha1.js";
import type { AvsWorkerApi, AvsWorkerReport } from "../../../controller/reconcilers/avs-worker-api.js";
import { eventually, startControllerCluster, type TestCluster } from "./cluster.js";

const NS = "avs";

/** The one double here: no worker runs in this cluster (no kubelet), so its /status is answered in-process. */
class AvsWorkerDouble implements AvsWorkerApi {
  report: AvsWorkerReport | undefined = { registered: true, tasksAnswered: 7 };
  async status(): Promise<AvsWorkerReport> {
    if (this.report === undefined) throw new Error("connection refused");
    return this.report;
  }
}

describe("the controller reconciling AVSSubscriptions on a real API server", () => {
  let cluster: TestCluster;
  let objects: KubernetesObjectApi;
  let apps: AppsV1Api;
  const worker = new AvsWorkerDouble();

  beforeAll(async () => {
    cluster = await startControllerCluster(NS, { identity: "avs", avsWorkerApi: worker });
    objects = KubernetesObjectApi.makeApiClient(cluster.kc);
    apps = cluster.kc.makeApiClient(AppsV1Api);
  }, 120_000);
  afterAll(() => cluster?.stop());

  const read = () => objects.read<AVSSubscription>({ apiVersion: "nektar.network/v1alpha1", kind: "AVSSubscription", metadata: { name: "avs-1", namespace: NS } });
  const condition = (s: AVSSubscription, type: string) => s.status?.conditions?.find((c) => c.type === type);

  it("starts no worker for an Operator that does not exist, and says so", async () => {
    const s = examples.avsSubscription("avs-1", "op-1");
    await objects.create({ ...s, metadata: { name: "avs-1", namespace: NS }, spec: { ...s.spec, executor: { image: "ghcr.io/avs/executor:2" } } });
    await eventually(async () => expect(condition(await read(), "Degraded")).toMatchObject({ status: "True", reason: "OperatorNotFound" }));
    const missing = await apps.readNamespacedDeployment({ namespace: NS, name: "avs-1-avs-worker" }).catch((e: unknown) => e);
    expect((missing as ApiException<unknown>).code).toBe(404);
  });

  it("runs the worker with its executor once the Operator exists, Ready when its pod is", async () => {
    await objects.create({ ...examples.operator("op-1"), metadata: { name: "op-1", namespace: NS } });
    const deployment = await eventually(() => apps.readNamespacedDeployment({ namespace: NS, name: "avs-1-avs-worker" }));
    expect(deployment.spec?.template.spec?.containers.map((c) => c.name)).toEqual(["worker", "executor"]);
    await eventually(async () => expect(condition(await read(), "Ready")).toMatchObject({ status: "False", reason: "WorkerNotAvailable" }));

    // Stand in for the kubelet: the worker's pod (created through its ReplicaSet) is running and ready.
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const pod = await eventually(async () => {
      const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: "app.kubernetes.io/instance=avs-1" });
      if (pods.items[0] === undefined) throw new Error("no pod yet");
      return pods.items[0];
    });
    const now = new Date().toISOString();
    await core.patchNamespacedPodStatus(
      { namespace: NS, name: pod.metadata!.name!, body: { status: { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }] } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await eventually(async () => {
      const s = await read();
      expect(condition(s, "Ready")).toMatchObject({ status: "True", reason: "WorkerAvailable", observedGeneration: 1 });
      expect(condition(s, "Degraded")).toMatchObject({ status: "False" });
      // What the worker reports of itself.
      expect(s.status).toMatchObject({ registered: true, tasksAnswered: 7 });
    }, 60_000);
    // The worker gets the operator's identity and the BLS key the subscription names, and a Service for its status.
    expect(deployment.spec?.template.spec?.volumes?.map((v) => v.secret?.secretName).filter(Boolean)).toEqual(["op-1-identity", "op-1-bls"]);
    await core.readNamespacedService({ namespace: NS, name: "avs-1-avs-worker" });
    // Its record on a volume of its own, owned by the subscription like the rest.
    const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: "avs-1-avs-worker-data" });
    expect(claim.spec?.accessModes).toEqual(["ReadWriteOnce"]);
    expect(claim.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "AVSSubscription", name: "avs-1", controller: true });
    expect(deployment.spec?.template.spec?.volumes).toContainEqual({ name: "data", persistentVolumeClaim: { claimName: "avs-1-avs-worker-data" } });
  }, 90_000);

  it("says when the running worker's status does not answer", async () => {
    worker.report = undefined;
    // An event about the subscription (a label: the worker stays as it is) makes the controller look again at once; it also does every 30 s.
    await objects.patch({ apiVersion: "nektar.network/v1alpha1", kind: "AVSSubscription", metadata: { name: "avs-1", namespace: NS, labels: { team: "a" } } }, undefined, undefined, "test", undefined, PatchStrategy.MergePatch);
    await eventually(async () => {
      const s = await read();
      expect(condition(s, "Ready")).toMatchObject({ status: "False", reason: "WorkerStatusUnreachable" });
      expect(condition(s, "Degraded")).toMatchObject({ status: "True", reason: "WorkerStatusUnreachable" });
    }, 30_000);
  }, 60_000);

  it("removes the worker with its subscription", async () => {
    await objects.delete({ apiVersion: "nektar.network/v1alpha1", kind: "AVSSubscription", metadata: { name: "avs-1", namespace: NS } });
    await eventually(async () => {
      const gone = await apps.readNamespacedDeployment({ namespace: NS, name: "avs-1-avs-worker" }).catch((e: unknown) => e);
      if (!(gone instanceof ApiException && gone.code === 404)) throw new Error("worker still there");
    }, 60_000);
  }, 90_000);
});
