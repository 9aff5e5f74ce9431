import { describe, expect, it } from "@jest/globals";
import { examples } from "../api/examples.js";
import type { Operator } from "../api/v1alpha1.js";
import { parseNodeConfig } from "../../services/signer/node/config.js";
import { nodeMultiaddr, operatorResources, PATHS } from "./operator.js";

const options = { defaultImage: "ghcr.io/nektar/nektar:0.1.0", controllerNamespace: "nektar-system" };

function operator(spec: Partial<Operator["spec"]> = {}): Operator {
  const o = examples.operator("op-1");
  return { ...o, metadata: { name: "op-1", namespace: "staking", uid: "6b2c1d0e-0000-4000-8000-000000000001", generation: 1 }, spec: { ...o.spec, ...spec } };
}

describe("operatorResources", () => {
  it("owns every object through a controller reference, in the Operator's namespace", () => {
    for (const object of Object.values(operatorResources(operator(), options))) {
      expect(object.metadata?.namespace).toBe("staking");
      expect(object.metadata?.name).toBe("op-1-node");
      expect(object.metadata?.ownerReferences).toEqual([
        { apiVersion: "nektar.network/v1alpha1", kind: "Operator", name: "op-1", uid: "6b2c1d0e-0000-4000-8000-000000000001", controller: true, blockOwnerDeletion: true },
      ]);
      expect(object.metadata?.labels).toMatchObject({ "nektar.network/operator": "op-1", "app.kubernetes.io/managed-by": "nektar-controller" });
    }
  });

  it("runs one node with a volume for slashing protection and the operator's identity", () => {
    const { statefulSet } = operatorResources(operator({ storage: { size: "5Gi", storageClassName: "fast" } }), options);
    const spec = statefulSet.spec!;
    expect(spec.replicas).toBe(1);
    expect(spec.template.metadata?.labels).toMatchObject(spec.selector.matchLabels!);
    expect(spec.volumeClaimTemplates?.[0]?.spec).toMatchObject({ storageClassName: "fast", resources: { requests: { storage: "5Gi" } } });
    const pod = spec.template.spec!;
    expect(pod.containers[0]?.image).toBe(options.defaultImage);
    expect(pod.containers[0]?.volumeMounts).toContainEqual({ name: "data", mountPath: PATHS.data });
    expect(pod.volumes).toContainEqual({ name: "identity", secret: { secretName: "op-1-identity", defaultMode: 0o400 } });
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
  });

  it("puts the endpoints in the node's configuration, and restarts the node when they change", () => {
    const before = operatorResources(operator(), options);
    expect(JSON.parse(before.configMap.data!["node.json"]!)).toMatchObject({
      network: "hoodi",
      beaconNodeUrls: ["http://beacon.hoodi.svc:5052"],
      p2p: { port: 9000 },
    });
    const after = operatorResources(operator({ beaconNodeUrls: ["http://other:5052"] }), options);
    const hash = (r: typeof before) => r.statefulSet.spec!.template.metadata!.annotations!["nektar.network/config-hash"];
    expect(hash(after)).not.toBe(hash(before));
    expect(hash(operatorResources(operator(), options))).toBe(hash(before));
  });

  it("writes a node.json that `nektar node --config` accepts, its paths where the pod mounts them", () => {
    const resources = operatorResources(operator({ p2p: { port: 9100, externalAddress: "/dns4/op-1.example.com/tcp/9100" } }), options);
    const config = parseNodeConfig(JSON.parse(resources.configMap.data!["node.json"]!), "node.json", "/");
    const mounts = resources.statefulSet.spec!.template.spec!.containers[0]!.volumeMounts!.map((m) => m.mountPath);
    for (const path of [config.identityFile, config.keySharesDir!, config.dataDir]) expect(mounts.some((m) => path.startsWith(m))).toBe(true);
    expect(config.p2p).toEqual({ port: 9100, externalAddress: "/dns4/op-1.example.com/tcp/9100" });
  });

  it("lists the other Operators' nodes as peers, where their pods are, and restarts the node when one changes", () => {
    const peer = (name: string, spec: Partial<Operator["spec"]> = {}) => ({ ...operator(spec), metadata: { name, namespace: "staking", uid: `uid-${name}` } });
    expect(nodeMultiaddr(peer("op-2"))).toBe("/dns4/op-2-node-0.op-2-node.staking.svc/tcp/9000");
    expect(nodeMultiaddr(peer("op-3", { p2p: { port: 9100 } }))).toBe("/dns4/op-3-node-0.op-3-node.staking.svc/tcp/9100");
    expect(nodeMultiaddr(peer("op-4", { p2p: { port: 9100, externalAddress: "/dns4/op-4.example.com/tcp/30100" } }))).toBe("/dns4/op-4.example.com/tcp/30100");

    const a = { peerId: "16Uiu2HAm9uV7Pg3SstSUeXgi1tPVYHhM87wz3hwLiypfHGV1vVdm", multiaddrs: [nodeMultiaddr(peer("op-2"))] };
    const b = { peerId: "16Uiu2HAkyg4knu6kRm6pspQGx9T3Ah9U6kcUA1iD9akZfwmQ2DGQ", multiaddrs: ["/dns4/op-4.example.com/tcp/30100"] };
    const resources = operatorResources(operator(), options, [a, b]);
    const config = parseNodeConfig(JSON.parse(resources.configMap.data!["node.json"]!), "node.json", "/");
    expect(config.peers).toEqual([b, a]);
    const hash = (r: typeof resources) => r.statefulSet.spec!.template.metadata!.annotations!["nektar.network/config-hash"];
    // Whatever order the informer lists them in.
    expect(hash(operatorResources(operator(), options, [b, a]))).toBe(hash(resources));
    expect(hash(operatorResources(operator(), options, [a, { ...b, multiaddrs: ["/dns4/op-4.example.com/tcp/30101"] }]))).not.toBe(hash(resources));
    expect(hash(operatorResources(operator(), options, [a]))).not.toBe(hash(resources));
  });

  it("uses the Operator's p2p port everywhere", () => {
    const r = operatorResources(operator({ p2p: { port: 13000 } }), options);
    expect(r.service.spec?.ports).toContainEqual({ name: "p2p", port: 13000, targetPort: "p2p", protocol: "TCP" });
    expect(r.statefulSet.spec!.template.spec!.containers[0]?.ports).toContainEqual({ name: "p2p", containerPort: 13000, protocol: "TCP" });
    expect(r.networkPolicy.spec?.ingress?.[0]?.ports).toEqual([{ port: 13000, protocol: "TCP" }]);
  });

  it("refuses an Operator not read from the API server (no uid to own objects by)", () => {
    expect(() => operatorResources(examples.operator("op-1"), options)).toThrow(/no uid/);
  });
});
