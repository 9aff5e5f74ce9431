import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ApiException, CoreV1Api, KubernetesObjectApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { examples } from "../../../controller/api/examples.js";
import type { KeyShare, Operator } from "../../../controller/api/v1alpha1.js";
import type { NodeApi, NodeReport } from "../../../controller/reconcilers/node-api.js";
import { parseManifest } from "../../../services/core/cluster/manifest.js";
import { eventually, startControllerCluster, type TestCluster } from "./cluster.js";

const NS = "staking";

/**
 * The one double here: `nektar node` does not run in this cluster (no kubelet, and its image is
 * not built by these tests), so its API is answered in-process.
 */
class NodeApiDouble implements NodeApi {
  report_: NodeReport = { peerId: "16Uiu2HAmTestPeer", connectedPeers: 3, keyShares: [] };
  exports: string[] = [];
  failExports = false;
  async report(): Promise<NodeReport> {
    return this.report_;
  }
  async exportSlashingProtection(_operator: Operator, validatorPubkey: string): Promise<string> {
    if (this.failExports) throw new Error("connection refused");
    this.exports.push(validatorPubkey);
    return JSON.stringify({ metadata: { interchange_format_version: "5", genesis_validators_root: `0x${"00".repeat(32)}` }, data: [{ pubkey: validatorPubkey, signed_blocks: [], signed_attestations: [{ source_epoch: "10", target_epoch: "11" }] }] });
  }
}

describe("the controller reconciling KeyShares on a real API server", () => {
  let cluster: TestCluster;
  let objects: KubernetesObjectApi;
  let core: CoreV1Api;
  const node = new NodeApiDouble();

  beforeAll(async () => {
    cluster = await startControllerCluster(NS, { identity: "ks", nodeApi: node });
    objects = KubernetesObjectApi.makeApiClient(cluster.kc);
    core = cluster.kc.makeApiClient(CoreV1Api);
  }, 120_000);
  afterAll(() => cluster?.stop());

  const read = (kind: "KeyShare" | "Operator", name: string) =>
    objects.read<KeyShare & Operator>({ apiVersion: "nektar.network/v1alpha1", kind, metadata: { name, namespace: NS } });
  const condition = (o: { status?: { conditions?: { type: string; status: string; reason: string }[] } }, type: string) => o.status?.conditions?.find((c) => c.type === type);
  const keystore = (name: string) => core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: `${name}-keystore` }, stringData: { "keystore.json": "{}", "password.txt": "pw" } } });
  // Share `index` of validator `validator`, under the lock of validators 1 and 2.
  const keyShare = (name: string, index: number, validator = index) => ({ ...examples.keyShare(name, "op-1", index, validator), metadata: { name, namespace: NS } });
  const createKeyShare = (name: string, index: number, validator = index) => objects.create(keyShare(name, index, validator));
  const lock = examples.clusterLockConfigMap("cluster-1-lock", [keyShare("v1", 1), keyShare("v2", 2)]);
  const gone = async (name: string) => {
    const error = await read("KeyShare", name).catch((e: unknown) => e);
    if (!(error instanceof ApiException && error.code === 404)) throw new Error(`${name} still exists`);
  };

  it("reports a share as Pending while its node has not loaded it, and names a missing keystore Secret or cluster lock", async () => {
    await objects.create({ ...examples.operator("op-1"), metadata: { name: "op-1", namespace: NS } });
    await keystore("ks-1");
    await createKeyShare("ks-1", 1);
    await createKeyShare("ks-missing", 2);
    await eventually(async () => {
      const ks = await read("KeyShare", "ks-1");
      expect(ks.metadata?.finalizers).toEqual(["nektar.network/finalizer"]);
      expect(ks.status?.state).toBe("Pending");
      expect(condition(ks, "Degraded")).toMatchObject({ status: "True", reason: "ClusterLockNotFound" });
      const missing = await read("KeyShare", "ks-missing");
      expect(condition(missing, "Degraded")).toMatchObject({ status: "True", reason: "KeystoreSecretNotFound" });
    });
    await core.createNamespacedConfigMap({ namespace: NS, body: lock });
    await eventually(async () => {
      const ks = await read("KeyShare", "ks-1");
      expect(condition(ks, "Ready")).toMatchObject({ status: "False", reason: "NotOnNode" });
      expect(condition(ks, "Degraded")).toMatchObject({ status: "False" });
      // On its way to the node, with its lock.
      const secret = await core.readNamespacedSecret({ namespace: NS, name: "op-1-keyshares" });
      const manifest = parseManifest(JSON.parse(Buffer.from(secret.data!["keyshares.json"]!, "base64").toString()), "keyshares.json");
      expect(manifest.map((e) => e.name)).toEqual(["ks-1"]);
      expect(Buffer.from(secret.data![manifest[0]!.clusterLockFile]!, "base64").toString()).toBe(lock.data!["cluster-lock.json"]);
    }, 30_000);
    // A share no node ever held has no slashing protection: it is deleted at once.
    await objects.delete({ apiVersion: "nektar.network/v1alpha1", kind: "KeyShare", metadata: { name: "ks-missing", namespace: NS } });
    await eventually(() => gone("ks-missing"));
    expect(node.exports).toEqual([]);
  });

  it("gives the node one share of a validator, and says why not another", async () => {
    await keystore("ks-1-copy");
    await createKeyShare("ks-1-copy", 2, 1);
    await eventually(async () => {
      const copy = await read("KeyShare", "ks-1-copy");
      expect(condition(copy, "Degraded")).toMatchObject({ status: "True", reason: "DuplicateValidator", message: expect.stringMatching(/^KeyShare ks-1 gives operator op-1 a share of this validator already/) });
    });
    const secret = await core.readNamespacedSecret({ namespace: NS, name: "op-1-keyshares" });
    expect(secret.data?.["ks-1-copy.keystore.json"]).toBeUndefined();
    await objects.delete({ apiVersion: "nektar.network/v1alpha1", kind: "KeyShare", metadata: { name: "ks-1-copy", namespace: NS } });
    await eventually(() => gone("ks-1-copy"));
  });

  it("follows what the running node reports: the share becomes Active with its last duty", async () => {
    node.report_ = { ...node.report_, keyShares: [{ name: "ks-1", lastDuty: { slot: 123456, type: "attester" } }] };
    // Stand in for the kubelet: the StatefulSet's pod (created by kube-controller-manager) is running and ready.
    const pod = await eventually(() => core.readNamespacedPod({ namespace: NS, name: "op-1-node-0" }));
    const now = new Date().toISOString();
    await core.patchNamespacedPodStatus(
      {
        namespace: NS,
        name: pod.metadata!.name!,
        body: { status: { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }, { type: "ContainersReady", status: "True", lastTransitionTime: now }] } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await eventually(async () => {
      const op = await read("Operator", "op-1");
      expect(op.status).toMatchObject({ readyReplicas: 1, peerId: "16Uiu2HAmTestPeer", connectedPeers: 3, keyShares: 1 });
      expect(condition(op, "Ready")).toMatchObject({ status: "True", reason: "NodeReady" });
      const ks = await read("KeyShare", "ks-1");
      expect(ks.status).toMatchObject({ state: "Active", lastDuty: { slot: 123456, type: "attester" } });
      expect(condition(ks, "Ready")).toMatchObject({ status: "True" });
    }, 60_000);
  }, 90_000);

  it("exports a held share's slashing protection before letting it go, retrying while the node does not answer", async () => {
    node.failExports = true;
    await objects.delete({ apiVersion: "nektar.network/v1alpha1", kind: "KeyShare", metadata: { name: "ks-1", namespace: NS } });
    await eventually(async () => {
      const ks = await read("KeyShare", "ks-1");
      expect(ks.status?.state).toBe("Exporting");
      expect(condition(ks, "Degraded")).toMatchObject({ status: "True", reason: "ExportFailed" });
    });
    node.failExports = false;
    await eventually(() => gone("ks-1"), 30_000);
    const pubkey = examples.keyShare("ks-1", "op-1", 1).spec.validatorPubkey;
    // At least once; again is harmless (a reconcile from a cache that still had the finalizer writes the same ConfigMap).
    expect(new Set(node.exports)).toEqual(new Set([pubkey]));
    const exported = await core.readNamespacedConfigMap({ namespace: NS, name: "ks-1-slashing-protection" });
    expect(exported.metadata?.ownerReferences).toBeUndefined(); // outlives the KeyShare
    expect(JSON.parse(exported.data!["interchange.json"]!).data[0].pubkey).toBe(pubkey);
    // The share leaves the node's Secret (with the next batch of KeyShare changes).
    await eventually(async () => {
      const secret = await core.readNamespacedSecret({ namespace: NS, name: "op-1-keyshares" });
      expect(secret.data?.["ks-1.keystore.json"]).toBeUndefined();
    });
  }, 60_000);
});
