import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ApiextensionsV1Api, AppsV1Api, AuthorizationV1Api, BatchV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, loadAllYaml, type KubernetesObject } from "@kubernetes/client-node";
import { execFileSync } from "node:child_process";
import { examples } from "../../../controller/api/examples.js";
import { toHex } from "../../../services/core/hex.js";
import { generateIdentity } from "../../../services/core/p2p/identity.js";
import type { DistributedValidator, Operator } from "../../../controller/api/v1alpha1.js";
import { Controller } from "../../../controller/reconcilers/manager.js";
import { createLogger } from "../../../services/core/log/index.js";
import { createNamespace, eventually, startCluster, type TestCluster } from "./cluster.js";

const CHART = new URL("../../../charts/nektar", import.meta.url).pathname;
const HELM = new URL("../../../node_modules/.bin/helm", import.meta.url).pathname;
const KUBE_VERSION = process.env.KUBE_VERSION ?? "v1.37.1";
const NS = "nektar-system";

const NON_DEFAULT = ["--set", "replicaCount=3", "--set", "serviceMonitor.enabled=true", "--set", "nodeImage=registry.example.com/nektar-node:1.2.3", "--set", "serviceAccount.name=nektar", "--set", "leaderElection.leaseName=nektar-leader", "--set", "workers=8", "--set", "dkgPort=9200"];

function helm(...args: string[]): string {
  return execFileSync(HELM, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function template(release: string, ...values: string[]): KubernetesObject[] {
  const out = helm("template", release, CHART, "--namespace", NS, "--include-crds", "--kube-version", KUBE_VERSION, ...values);
  return loadAllYaml(out).filter((o): o is KubernetesObject => o !== null && o !== undefined);
}

describe("charts/nektar", () => {
  let cluster: TestCluster;
  let objects: KubernetesObjectApi;

  beforeAll(async () => {
    cluster = await startCluster({ controllerManager: true });
    objects = KubernetesObjectApi.makeApiClient(cluster.kc);
    await createNamespace(cluster.kc, NS);
    // The helm test Pod runs as the namespace's default ServiceAccount, which kube-controller-manager creates.
    await eventually(() => cluster.kc.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ namespace: NS, name: "default" }));
    // A stand-in for the Prometheus Operator's CRD (not installed here), so a ServiceMonitor can be validated.
    await cluster.kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({
      body: {
        metadata: { name: "servicemonitors.monitoring.coreos.com" },
        spec: {
          group: "monitoring.coreos.com",
          names: { kind: "ServiceMonitor", plural: "servicemonitors", singular: "servicemonitor", listKind: "ServiceMonitorList" },
          scope: "Namespaced",
          versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", x_kubernetes_preserve_unknown_fields: true } } }],
        },
      },
    });
  }, 120_000);
  afterAll(() => cluster?.stop());

  const apply = (o: KubernetesObject, dryRun?: string) => objects.patch(o, undefined, dryRun, "helm-test", true, PatchStrategy.ServerSideApply);
  const isCrd = (o: KubernetesObject) => o.kind === "CustomResourceDefinition";

  it("passes helm lint --strict with default and non-default values", () => {
    expect(helm("lint", "--strict", CHART)).toMatch(/0 chart\(s\) failed/);
    expect(helm("lint", "--strict", CHART, ...NON_DEFAULT)).toMatch(/0 chart\(s\) failed/);
  });

  it("refuses values its schema does not allow, naming them", () => {
    const error = (() => {
      try {
        helm("lint", "--strict", CHART, "--set", "replicaCount=0");
      } catch (e) {
        return String((e as { stderr: string }).stderr) + String((e as { stdout: string }).stdout);
      }
      throw new Error("lint passed");
    })();
    expect(error).toMatch(/replicaCount/);
  });

  it("renders manifests the API server accepts (server-side dry run), with default and non-default values", async () => {
    for (const values of [[], NON_DEFAULT]) {
      const rendered = template("nektar", ...values);
      // CRDs for real (the dry run of what follows needs none of them, but the chart installs them first).
      for (const crd of rendered.filter(isCrd)) await apply(crd);
      const kinds = new Set<string>();
      for (const o of rendered.filter((o) => !isCrd(o))) {
        const accepted = await apply(o, "All");
        expect(accepted.metadata?.uid).toBeDefined();
        kinds.add(o.kind!);
      }
      expect([...kinds].sort()).toEqual(
        ["ClusterRole", "ClusterRoleBinding", "Deployment", "Pod", "Role", "RoleBinding", "Service", "ServiceAccount", ...(values.length ? ["ServiceMonitor"] : [])].sort(),
      );
    }
    const deployment = template("nektar", ...NON_DEFAULT).find((o) => o.kind === "Deployment") as { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } };
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.template.spec.containers[0]?.args).toContain("--node-image=registry.example.com/nektar-node:1.2.3");
    expect(deployment.spec.template.spec.containers[0]?.args).toContain("--dkg-port=9200");
  });

  it("grants the controller's ServiceAccount enough to reconcile Operators, KeyShares, DistributedValidators and AVSSubscriptions, and no deletes", async () => {
    const rendered = template("nektar");
    for (const o of rendered.filter((o) => ["CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].includes(o.kind!))) await apply(o);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const { status } = await core.createNamespacedServiceAccountToken({ namespace: NS, name: "nektar", body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    const asController = new KubeConfig();
    asController.loadFromOptions({
      clusters: cluster.kc.clusters,
      users: [{ name: "nektar", token: status?.token }],
      contexts: [{ name: "nektar", cluster: cluster.kc.getCurrentCluster()!.name, user: "nektar" }],
      currentContext: "nektar",
    });

    // Least privilege: the controller never deletes what it owns (garbage collection does) nor reads pods.
    const can = async (verb: string, group: string, resource: string) =>
      (await asController.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb, group, resource, namespace: "staking" } } } })).status?.allowed;
    expect(await can("patch", "apps", "statefulsets")).toBe(true);
    expect(await can("delete", "apps", "statefulsets")).toBe(false);
    expect(await can("delete", "", "secrets")).toBe(false);
    expect(await can("create", "", "persistentvolumeclaims")).toBe(true); // the AVS workers' volumes
    expect(await can("delete", "", "persistentvolumeclaims")).toBe(false);
    expect(await can("list", "", "pods")).toBe(false);
    expect(await can("update", "coordination.k8s.io", "leases")).toBe(false); // only its own Lease, in its namespace

    await createNamespace(cluster.kc, "staking");
    // The Operator's CRD was just applied: wait until it is served.
    await eventually(() => objects.create({ ...examples.operator("op-rbac"), metadata: { name: "op-rbac", namespace: "staking" } }));
    await core.createNamespacedSecret({ namespace: "staking", body: { metadata: { name: "ks-rbac-keystore" }, stringData: { "keystore.json": "{}", "password.txt": "pw" } } });
    const keyShare = { ...examples.keyShare("ks-rbac", "op-rbac", 1), metadata: { name: "ks-rbac", namespace: "staking" } };
    await core.createNamespacedConfigMap({ namespace: "staking", body: examples.clusterLockConfigMap(keyShare.spec.clusterLockConfigMapRef.name, [keyShare]) });
    await objects.create(keyShare);
    // The DKG's definition is signed with the operator's identity, which the controller reads.
    await core.createNamespacedSecret({ namespace: "staking", body: { metadata: { name: "op-rbac-identity" }, stringData: { "identity.key": toHex(generateIdentity().privateKey.raw) } } });
    await objects.create({ ...examples.distributedValidator("dv-rbac", ["op-rbac"]), metadata: { name: "dv-rbac", namespace: "staking" } });
    await objects.create({ ...examples.avsSubscription("avs-rbac", "op-rbac"), metadata: { name: "avs-rbac", namespace: "staking" } });

    const controller = new Controller(asController, {
      identity: "rbac",
      controllerNamespace: NS,
      defaultImage: "ghcr.io/nektar-network/nektar:0.1.0",
      leaderElection: { name: "nektar-controller", retryPeriodMs: 300 },
      probes: { host: "127.0.0.1", port: 0 },
      log: createLogger("controller"),
    });
    await controller.start();
    try {
      await eventually(async () => {
        await cluster.kc.makeApiClient(AppsV1Api).readNamespacedStatefulSet({ namespace: "staking", name: "op-rbac-node" });
        const secret = await core.readNamespacedSecret({ namespace: "staking", name: "op-rbac-keyshares" });
        if (!secret.data?.["ks-rbac.keystore.json"]) throw new Error("keystore not delivered");
        const o = await objects.read<Operator>({ apiVersion: "nektar.network/v1alpha1", kind: "Operator", metadata: { name: "op-rbac", namespace: "staking" } });
        if (o.status?.keyShares !== 1) throw new Error("no status");
        // The DKG's Job, and the ServiceAccount and Role it runs with, which the controller may grant.
        await cluster.kc.makeApiClient(BatchV1Api).readNamespacedJob({ namespace: "staking", name: "dv-rbac-dkg-1" });
        const dv = await objects.read<DistributedValidator>({ apiVersion: "nektar.network/v1alpha1", kind: "DistributedValidator", metadata: { name: "dv-rbac", namespace: "staking" } });
        if (dv.status?.phase !== "Running") throw new Error(`DV phase ${dv.status?.phase}`);
        // The AVS worker with its volume.
        await cluster.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: "staking", name: "avs-rbac-avs-worker" });
        await core.readNamespacedPersistentVolumeClaim({ namespace: "staking", name: "avs-rbac-avs-worker-data" });
        if ((await controller.metrics.reconciles.get()).values.some((v) => v.labels.result === "error" && v.value > 0)) throw new Error("a reconcile failed");
      }, 30_000);
    } finally {
      await controller.stop();
    }
  }, 60_000);
});
