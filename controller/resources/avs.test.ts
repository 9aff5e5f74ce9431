import { describe, expect, it } from "@jest/globals";
import { WorkerConfigSchema, parseConfig } from "../../services/avs/config.js";
import { examples } from "../api/examples.js";
import { avsWorkerResources, avsWorkerStatusUrl } from "./avs.js";

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
