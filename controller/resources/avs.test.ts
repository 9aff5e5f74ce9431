import { describe, expect, it } from "@jest/globals";
import { examples } from "../api/examples.js";
import { avsWorkerResources } from "./avs.js";

const subscription = (executor: { url?: string; image?: string }) => {
  const s = examples.avsSubscription("avs-1", "op-1");
  return { ...s, metadata: { name: "avs-1", namespace: "staking", uid: "u-1" }, spec: { ...s.spec, executor } };
};

describe("avsWorkerResources", () => {
  it("runs one worker that signs through its operator's node and calls the executor endpoint", () => {
    const { configMap, deployment } = avsWorkerResources(subscription({ url: "http://executor.avs.svc:8080" }), { defaultImage: "nektar:1" });
    expect(JSON.parse(configMap.data!["avs-worker.json"]!)).toMatchObject({
      executorUrl: "http://executor.avs.svc:8080",
      nodeUrl: "http://op-1-node-0.op-1-node.staking.svc:3600",
      chainId: 560048,
    });
    expect(deployment.spec?.replicas).toBe(1);
    expect(deployment.spec?.template.spec?.containers.map((c) => c.name)).toEqual(["worker"]);
    expect(deployment.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "AVSSubscription", name: "avs-1" });
  });

  it("runs the executor image beside the worker, on localhost", () => {
    const { configMap, deployment } = avsWorkerResources(subscription({ image: "ghcr.io/avs/executor:2" }), { defaultImage: "nektar:1" });
    expect(JSON.parse(configMap.data!["avs-worker.json"]!).executorUrl).toBe("http://127.0.0.1:8080");
    expect(deployment.spec?.template.spec?.containers.map((c) => [c.name, c.image])).toEqual([
      ["worker", "nektar:1"],
      ["executor", "ghcr.io/avs/executor:2"],
    ]);
  });
});
