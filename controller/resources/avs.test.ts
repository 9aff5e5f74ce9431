import { describe, expect, it } from "@jest/globals";
import { WorkerConfigSchema, parseConfig } from "../../services/avs/config.js";
import { examples } from "../api/examples.js";
import { DEFAULT_WORKER_STORAGE, avsWorkerResources, avsWorkerStatusUrl } from "./avs.js";

const subscription = (executor: { url?: string; image?: string }) => {
  const s = examples.avsSubscription("avs-1", "op-1");
  return { ...s, metadata: { name: "avs-1", namespace: "staking", uid: "u-1" }, spec: { ...s.spec, executor } };
};
const operator = { ...examples.operator("op-1"), metadata: { name: "op-1", namespace: "staking", uid: "u-2" } };
const options = { defaultImage: "nektar:1" };

describe("avsWorkerResources", () => {
  it("runs one worker with the operator's chain endpoint, identity and BLS key, in a config `nektar avs worker` accepts", () => {
    const { configMap, deployment } = avsWorkerResources(subscription({ url: "http://executor.avs.svc:8080" }), operator, options);
    const config = parseConfig(WorkerConfigSchema, JSON.parse(configMap.data!["avs-worker.json"]!), "avs-worker.json");
    expect(config).toMatchObject({
      chain: { rpcUrl: "http://geth.hoodi.svc:8545", chainId: 560048, taskManager: `0x${"a1".repeat(20)}` },
      avsId: 1,
      executor: { url: "http://executor.avs.svc:8080" },
      http: { host: "0.0.0.0", port: 9465 },
    });
    const pod = deployment.spec!.template.spec!;
    const mounts = pod.containers[0]!.volumeMounts!;
    // Every file the config names is in a mounted volume.
    for (const file of [config.identityFile, config.blsKey.keystoreFile, config.blsKey.passwordFile]) expect(mounts.some((m) => file.startsWith(`${m.mountPath}/`))).toBe(true);
    expect(pod.volumes).toContainEqual({ name: "identity", secret: { secretName: "op-1-identity", defaultMode: 0o400 } });
    expect(pod.volumes).toContainEqual({
      name: "bls-key",
      secret: { secretName: "op-1-bls", defaultMode: 0o400, items: [{ key: "keystore.json", path: "keystore.json" }, { key: "password.txt", path: "password.txt" }] },
    });
    expect(deployment.spec?.replicas).toBe(1);
    expect(pod.containers.map((c) => c.name)).toEqual(["worker"]);
    expect(deployment.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "AVSSubscription", name: "avs-1" });
  });

  it("keeps the worker's record on its own volume, writable by the worker, across pods", () => {
    const { configMap, deployment, persistentVolumeClaim } = avsWorkerResources(subscription({ url: "http://executor.avs.svc:8080" }), operator, options);
    const config = parseConfig(WorkerConfigSchema, JSON.parse(configMap.data!["avs-worker.json"]!), "avs-worker.json");
    // A new record answers only new tasks: an empty volume may follow a pod that signed open ones.
    expect(config.lookbackBlocks).toBe(0);

    const pod = deployment.spec!.template.spec!;
    const mount = pod.containers[0]!.volumeMounts!.find((m) => m.name === "data");
    expect(mount?.readOnly).toBeUndefined();
    // The record is on the volume (the root filesystem is read-only), group-owned by the worker's uid.
    expect(`${config.dataDir}/`.startsWith(`${mount!.mountPath}/`)).toBe(true);
    expect(pod.containers[0]!.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(pod.securityContext).toMatchObject({ runAsUser: 65532, fsGroup: 65532 });
    expect(pod.volumes).toContainEqual({ name: "data", persistentVolumeClaim: { claimName: "avs-1-avs-worker-data" } });
    // ReadWriteOnce: the old pod is gone before the new one mounts it.
    expect(deployment.spec?.strategy).toEqual({ type: "Recreate" });

    expect(persistentVolumeClaim).toMatchObject({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "avs-1-avs-worker-data", namespace: "staking", labels: deployment.metadata!.labels },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: DEFAULT_WORKER_STORAGE } } },
    });
    expect(persistentVolumeClaim.spec?.storageClassName).toBeUndefined(); // the cluster's default
    expect(persistentVolumeClaim.metadata?.ownerReferences).toEqual(deployment.metadata?.ownerReferences);
  });

  it("sizes the worker's volume and picks its class as the Operator's storage says", () => {
    const withStorage = { ...operator, spec: { ...operator.spec, storage: { size: "2Gi", storageClassName: "fast-ssd" } } };
    const { persistentVolumeClaim } = avsWorkerResources(subscription({ url: "http://executor.avs.svc:8080" }), withStorage, options);
    expect(persistentVolumeClaim.spec).toMatchObject({ storageClassName: "fast-ssd", resources: { requests: { storage: "2Gi" } } });
  });

  it("applies the volume after the worker's other objects", () => {
    const resources = avsWorkerResources(subscription({ url: "http://executor.avs.svc:8080" }), operator, options);
    expect(Object.values(resources).map((o) => o.kind)).toEqual(["ConfigMap", "Service", "Deployment", "PersistentVolumeClaim"]);
  });

  it("runs the executor image beside the worker, on localhost", () => {
    const { configMap, deployment } = avsWorkerResources(subscription({ image: "ghcr.io/avs/executor:2" }), operator, options);
    expect(JSON.parse(configMap.data!["avs-worker.json"]!).executor.url).toBe("http://127.0.0.1:8080");
    expect(deployment.spec?.template.spec?.containers.map((c) => [c.name, c.image])).toEqual([
      ["worker", "nektar:1"],
      ["executor", "ghcr.io/avs/executor:2"],
    ]);
  });

  it("reads the worker's status through its Service", () => {
    const { service, deployment } = avsWorkerResources(subscription({ url: "http://executor.avs.svc:8080" }), operator, options);
    expect(service.spec?.selector).toEqual(deployment.spec?.selector?.matchLabels);
    expect(avsWorkerStatusUrl(subscription({}))).toBe("http://avs-1-avs-worker.staking.svc:9465/status");
  });
});
