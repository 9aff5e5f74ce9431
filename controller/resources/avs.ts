/**
 * What an AVSSubscription becomes: an AVS worker (`nektar avs worker`) for that AVS, signing task
 * results through its operator's node, and the AVS team's executor beside it when the
 * subscription names an image rather than an endpoint.
 */
import type { V1ConfigMap, V1Container, V1Deployment } from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import type { AVSSubscription } from "../api/v1alpha1.js";
import { LABELS, ownedMeta } from "./meta.js";
import { API_PORT, nodeName } from "./operator.js";

/** Port of an executor run from an image, in the worker's pod. */
export const EXECUTOR_PORT = 8080;
export const WORKER_METRICS_PORT = 9465;

export interface AvsWorkerResources {
  configMap: V1ConfigMap;
  deployment: V1Deployment;
}

export const avsWorkerName = (subscription: string): string => `${subscription}-avs-worker`;

export function avsWorkerSelector(subscription: string): Record<string, string> {
  return { [LABELS.name]: "nektar-avs-worker", [LABELS.instance]: subscription };
}

export function avsWorkerResources(subscription: AVSSubscription, options: { defaultImage: string }): AvsWorkerResources {
  const name = subscription.metadata!.name!;
  const { namespace } = subscription.metadata!;
  const operator = subscription.spec.operatorRef.name;
  const objectName = avsWorkerName(name);
  const labels = { ...avsWorkerSelector(name), [LABELS.operator]: operator, [LABELS.component]: "avs-worker" };
  const meta = ownedMeta(subscription, objectName, labels);
  const { executor } = subscription.spec;

  const workerConfig = `${JSON.stringify(
    {
      avsAddress: subscription.spec.avsAddress,
      chainId: subscription.spec.chainId,
      stakeWei: subscription.spec.stakeWei,
      executorUrl: executor.url ?? `http://127.0.0.1:${EXECUTOR_PORT}`,
      // The worker holds no key: the operator's node signs task results.
      nodeUrl: `http://${nodeName(operator)}-0.${nodeName(operator)}.${namespace}.svc:${API_PORT}`,
      metrics: { port: WORKER_METRICS_PORT },
    },
    null,
    2,
  )}\n`;

  const restricted = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };
  const containers: V1Container[] = [
    {
      name: "worker",
      image: options.defaultImage,
      args: ["avs", "worker", "--config", "/etc/nektar/avs-worker.json"],
      ports: [{ name: "metrics", containerPort: WORKER_METRICS_PORT, protocol: "TCP" }],
      readinessProbe: { httpGet: { path: "/readyz", port: "metrics" }, periodSeconds: 10 },
      securityContext: restricted,
      volumeMounts: [{ name: "config", mountPath: "/etc/nektar", readOnly: true }],
    },
  ];
  if (executor.image !== undefined) {
    containers.push({
      name: "executor",
      image: executor.image,
      env: [{ name: "PORT", value: String(EXECUTOR_PORT) }],
      ports: [{ name: "executor", containerPort: EXECUTOR_PORT, protocol: "TCP" }],
      securityContext: restricted,
    });
  }

  return {
    configMap: { apiVersion: "v1", kind: "ConfigMap", metadata: meta, data: { "avs-worker.json": workerConfig } },
    deployment: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta,
      spec: {
        replicas: 1,
        // One worker per subscription: two would answer every task twice.
        strategy: { type: "Recreate" },
        selector: { matchLabels: avsWorkerSelector(name) },
        template: {
          metadata: { labels, annotations: { "nektar.network/config-hash": createHash("sha256").update(workerConfig).digest("hex") } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
            containers,
            volumes: [{ name: "config", configMap: { name: objectName } }],
          },
        },
      },
    },
  };
}
