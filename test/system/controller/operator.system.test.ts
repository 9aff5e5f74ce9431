import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  EventsV1Api,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { examples } from "../../../controller/api/examples.js";
import type { Operator } from "../../../controller/api/v1alpha1.js";
import { Controller } from "../../../controller/reconcilers/manager.js";
import { createLogger } from "../../../services/core/log/index.js";
import { createNamespace, eventually, installCrds, startCluster, type TestCluster } from "./cluster.js";

const NS = "staking";
const SYSTEM_NS = "nektar-system";
const IMAGE = "ghcr.io/nektar/nektar:test";

describe("the controller reconciling Operators on a real API server", () => {
  let cluster: TestCluster;
  let objects: KubernetesObjectApi;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const running: Controller[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ controllerManager: true });
    await installCrds(cluster.kc);
    await createNamespace(cluster.kc, NS);
    await createNamespace(cluster.kc, SYSTEM_NS);
    objects = KubernetesObjectApi.makeApiClient(cluster.kc);
    core = cluster.kc.makeApiClient(CoreV1Api);
    apps = cluster.kc.makeApiClient(AppsV1Api);
  }, 120_000);

  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
  });
  afterAll(() => cluster?.stop());

  async function startController(identity: string): Promise<Controller> {
    const controller = new Controller(cluster.kc, {
      identity,
      controllerNamespace: SYSTEM_NS,
      defaultImage: IMAGE,
      leaderElection: { name: "nektar-controller", leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300 },
      probes: { host: "127.0.0.1", port: 0 },
      log: createLogger("controller", { bindings: { identity } }),
    });
    running.push(controller);
    await controller.start();
    return controller;
  }

  const readOperator = (name: string) => objects.read<Operator>({ apiVersion: "nektar.network/v1alpha1", kind: "Operator", metadata: { name, namespace: NS } });
  const condition = (o: Operator, type: string) => o.status?.conditions?.find((c) => c.type === type);
  const reconciles = async (c: Controller) => (await c.metrics.reconciles.get()).values.reduce((sum, v) => sum + v.value, 0);

  /** resourceVersions of an operator and everything the controller made for it. */
  async function versions(name: string): Promise<Record<string, string | undefined>> {
    const policy = cluster.kc.makeApiClient(PolicyV1Api);
    const networking = cluster.kc.makeApiClient(NetworkingV1Api);
    const node = `${name}-node`;
    return {
      operator: (await readOperator(name)).metadata?.resourceVersion,
      statefulSet: (await apps.readNamespacedStatefulSet({ namespace: NS, name: node })).metadata?.resourceVersion,
      service: (await core.readNamespacedService({ namespace: NS, name: node })).metadata?.resourceVersion,
      configMap: (await core.readNamespacedConfigMap({ namespace: NS, name: node })).metadata?.resourceVersion,
      secret: (await core.readNamespacedSecret({ namespace: NS, name: `${name}-keyshares` })).metadata?.resourceVersion,
      pdb: (await policy.readNamespacedPodDisruptionBudget({ namespace: NS, name: node })).metadata?.resourceVersion,
      networkPolicy: (await networking.readNamespacedNetworkPolicy({ namespace: NS, name: node })).metadata?.resourceVersion,
    };
  }

  it("creates the node's objects and reports what it observes", async () => {
    const controller = await startController("a");
    await objects.create({ ...examples.operator("op-1"), metadata: { name: "op-1", namespace: NS } });

    const statefulSet = await eventually(() => apps.readNamespacedStatefulSet({ namespace: NS, name: "op-1-node" }));
    expect(statefulSet.spec?.replicas).toBe(1);
    expect(statefulSet.spec?.template.spec?.containers[0]?.image).toBe(IMAGE);
    expect(statefulSet.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Operator", name: "op-1", controller: true });
    expect(statefulSet.metadata?.managedFields?.map((f) => f.manager)).toContain("nektar-controller");

    const operator = await eventually(async () => {
      const o = await readOperator("op-1");
      if (condition(o, "Ready") === undefined) throw new Error("no status yet");
      return o;
    });
    expect(operator.metadata?.finalizers).toEqual(["nektar.network/finalizer"]);
    // Nothing runs pods here (no scheduler, no kubelet): the controller must say so, not claim readiness.
    expect(condition(operator, "Ready")).toMatchObject({ status: "False", reason: "PodNotReady", observedGeneration: 1 });
    expect(condition(operator, "Degraded")).toMatchObject({ status: "False" });
    expect(operator.status).toMatchObject({ observedGeneration: 1, readyReplicas: 0, keyShares: 0 });
    expect(Object.keys(await versions("op-1"))).toHaveLength(7);

    const events = await cluster.kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: NS });
    expect(events.items.map((e) => [e.regarding?.name, e.reason, e.type, e.reportingController])).toContainEqual(["op-1", "PodNotReady", "Warning", "nektar.network/controller"]);

    const metrics = await (await fetch(`http://127.0.0.1:${controller.probeAddress!.port}/metrics`)).text();
    expect(metrics).toMatch(/nektar_controller_reconciles_total\{kind="Operator",result="success"\} [1-9]/);
    expect((await fetch(`http://127.0.0.1:${controller.probeAddress!.port}/readyz`)).status).toBe(200);
  });

  it("reverts a conflicting manual edit of an owned object", async () => {
    await startController("a");
    await apps.patchNamespacedStatefulSet(
      { namespace: NS, name: "op-1-node", body: { spec: { replicas: 3 } }, fieldManager: "kubectl-edit" },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await eventually(async () => {
      const sts = await apps.readNamespacedStatefulSet({ namespace: NS, name: "op-1-node" });
      if (sts.spec?.replicas !== 1) throw new Error(`replicas ${sts.spec?.replicas}`);
    });
  });

  it("follows a spec change and records the generation it observed", async () => {
    await startController("a");
    const before = await core.readNamespacedConfigMap({ namespace: NS, name: "op-1-node" });
    await objects.patch(
      { apiVersion: "nektar.network/v1alpha1", kind: "Operator", metadata: { name: "op-1", namespace: NS }, spec: { beaconNodeUrls: ["http://beacon-2.hoodi.svc:5052"] } } as KubernetesObject,
      undefined,
      undefined,
      "test",
      undefined,
      PatchStrategy.MergePatch,
    );
    await eventually(async () => {
      const cm = await core.readNamespacedConfigMap({ namespace: NS, name: "op-1-node" });
      if (!cm.data?.["node.json"]?.includes("beacon-2")) throw new Error("config not updated");
      const o = await readOperator("op-1");
      if (o.status?.observedGeneration !== 2 || condition(o, "Ready")?.observedGeneration !== 2) throw new Error("status not observed");
    });
    expect(before.data?.["node.json"]).not.toContain("beacon-2");
  });

  it("changes nothing when restarted", async () => {
    const first = await startController("a");
    await eventually(async () => {
      if ((await reconciles(first)) === 0) throw new Error("not reconciled yet");
    });
    const before = await versions("op-1");
    await first.stop();
    running.splice(0);
    const second = await startController("a");
    await eventually(async () => {
      if ((await reconciles(second)) === 0) throw new Error("not reconciled yet");
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await versions("op-1")).toEqual(before);
  });

  it("elects one leader among two controllers; the other takes over when it stops", async () => {
    const [b, c] = await Promise.all([startController("b"), startController("c")]);
    await eventually(async () => {
      if (b.isLeader === c.isLeader) throw new Error(`leaders: b=${b.isLeader} c=${c.isLeader}`);
    });
    const [leader, standby] = b.isLeader ? [b, c] : [c, b];
    const lease = await cluster.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: SYSTEM_NS, name: "nektar-controller" });
    expect(lease.spec?.holderIdentity).toBe(b.isLeader ? "b" : "c");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(standby.isLeader).toBe(false);
    expect(await reconciles(standby)).toBe(0);

    await leader.stop();
    await eventually(async () => {
      if (!standby.isLeader) throw new Error("standby did not take over");
    });
  });

  it("delivers KeyShares' keystores to the node, and deletes the Operator only after its KeyShares", async () => {
    await startController("a");
    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "ks-1-keystore" }, stringData: { "keystore.json": '{"crypto":{}}', "password.txt": "secret" } } });
    const keyShare = { ...examples.keyShare("ks-1", "op-1", 1), metadata: { name: "ks-1", namespace: NS } };
    await core.createNamespacedConfigMap({ namespace: NS, body: examples.clusterLockConfigMap(keyShare.spec.clusterLockConfigMapRef.name, [keyShare]) });
    await objects.create(keyShare);
    await eventually(async () => {
      const secret = await core.readNamespacedSecret({ namespace: NS, name: "op-1-keyshares" });
      if (secret.data?.["ks-1.keystore.json"] === undefined) throw new Error("share not delivered");
      expect(Buffer.from(secret.data["ks-1.password"]!, "base64").toString()).toBe("secret");
      if ((await readOperator("op-1")).status?.keyShares !== 1) throw new Error("status not updated");
    });

    await objects.delete({ apiVersion: "nektar.network/v1alpha1", kind: "Operator", metadata: { name: "op-1", namespace: NS } });
    await eventually(async () => {
      const o = await readOperator("op-1");
      if (condition(o, "Ready")?.reason !== "Deleting") throw new Error("not blocked");
      expect(condition(o, "Ready")?.message).toMatch(/ks-1/);
    });

    await objects.delete({ apiVersion: "nektar.network/v1alpha1", kind: "KeyShare", metadata: { name: "ks-1", namespace: NS } });
    await eventually(async () => {
      const gone = await readOperator("op-1").catch((e: unknown) => e);
      if (!(gone instanceof ApiException && gone.code === 404)) throw new Error("operator still there");
    });
    // Garbage collection (kube-controller-manager) removes what the Operator owned.
    await eventually(async () => {
      const sts = await apps.readNamespacedStatefulSet({ namespace: NS, name: "op-1-node" }).catch((e: unknown) => e);
      if (!(sts instanceof ApiException && sts.code === 404)) throw new Error("StatefulSet still there");
      const cm = await core.readNamespacedConfigMap({ namespace: NS, name: "op-1-node" }).catch((e: unknown) => e);
      if (!(cm instanceof ApiException && cm.code === 404)) throw new Error("ConfigMap still there");
    }, 60_000);
  }, 90_000);
});
