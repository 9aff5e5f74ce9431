/**
 * What an AVSSubscription becomes: an AVS worker (`nektar avs worker`) for that AVS, with the
 * operator's identity and BLS key, its chain endpoint being the Operator's; the AVS team's
 * executor beside it when the subscription names an image rather than an endpoint; a volume
 * for the worker's record of what it signed, so a new pod never signs a task twice; and a
 * Service through which the controller reads the worker's status.
 */
import type { V1ConfigMap, V1Container, V1Deployment, V1PersistentVolumeClaim, V1Service } from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import type { WorkerConfig } from "../../services/avs/config.js";
import type { AVSSubscription, Operator } from "../api/v1alpha1.js";
import { LABELS, ownedMeta } from "./meta.js";

/** Port of an executor run from an image, in the worker's pod. */
export const EXECUTOR_PORT = 8080;
/** The worker's /status, /livez, /readyz and /metrics. */
export const WORKER_HTTP_PORT = 9465;
/** The worker's libp2p port (it dials the aggregator). */
export const WORKER_P2P_PORT = 9466;

/** Where the worker finds what the controller gives it. */
const PATHS = {
  config: "/etc/nektar/avs-worker.json",
  identity: "/var/run/nektar/identity",
  blsKey: "/var/run/nektar/bls",
  data: "/var/lib/nektar",
} as const;

/**
 * The worker's volume when the Operator names no size: its record holds the responses to tasks
 * still open (kilobytes for hash-sized results), not a chain.
 */
export const DEFAULT_WORKER_STORAGE = "128Mi";

/** The worker's UID; the volume is group-owned by it (fsGroup) so the worker can write it. */
const WORKER_UID = 65532;

/** In the order the reconciler applies them: the volume last. */
export interface AvsWorkerResources {
  configMap: V1ConfigMap;
  service: V1Service;
  deployment: V1Deployment;
  persistentVolumeClaim: V1PersistentVolumeClaim;
}

export const avsWorkerName = (subscription: string): string => `${subscription}-avs-worker`;
export const avsWorkerDataName = (subscription: string): string => `${avsWorkerName(subscription)}-data`;

export function avsWorkerSelector(subscription: string): Record<string, string> {
  return { [LABELS.name]: "nektar-avs-worker", [LABELS.instance]: subscription };
}

/** Where the controller reads the worker's status: its Service. */
export function avsWorkerStatusUrl(subscription: AVSSubscription): string {
  return `http://${avsWorkerName(subscription.metadata!.name!)}.${subscription.metadata!.namespace}.svc:${WORKER_HTTP_PORT}/status`;
}

export function avsWorkerResources(subscription: AVSSubscription, operator: Operator, options: { defaultImage: string }): AvsWorkerResources {
  const name = subscription.metadata!.name!;
  const operatorName = subscription.spec.operatorRef.name;
  const objectName = avsWorkerName(name);
  const labels = { ...avsWorkerSelector(name), [LABELS.operator]: operatorName, [LABELS.component]: "avs-worker" };
  const meta = ownedMeta(subscription, objectName, labels);
  const { executor, contracts, chainId, avsId, aggregator } = subscription.spec;

  // Typed by the worker's own schema, so the two cannot drift (a type-only import: the controller
  // does not load the AVS service; avs.test.ts runs the worker's check on it).
  const config: WorkerConfig = {
    chain: { rpcUrl: operator.spec.executionUrl, chainId, ...contracts, pollingIntervalMs: 1_000 },
    avsId,
    blsKey: { keystoreFile: `${PATHS.blsKey}/keystore.json`, passwordFile: `${PATHS.blsKey}/password.txt` },
    identityFile: `${PATHS.identity}/identity.key`,
    p2p: { listen: [`/ip4/0.0.0.0/tcp/${WORKER_P2P_PORT}`] },
    aggregator,
    executor: { url: executor.url ?? `http://127.0.0.1:${EXECUTOR_PORT}`, timeoutMs: 10_000, retries: 2, backoffMs: 200 },
    dataDir: PATHS.data,
    // An empty record answers only tasks created from then on: it is a new subscription (nothing
    // open to miss but what was created before it) or a record lost with its volume (a recreated
    // subscription, a worker upgraded from one without a volume), whose open tasks an earlier
    // pod may have signed; answering those again could sign a second result.
    lookbackBlocks: 0,
    http: { host: "0.0.0.0", port: WORKER_HTTP_PORT },
  };
  const workerConfig = `${JSON.stringify(config, null, 2)}\n`;

  const restricted = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };
  const blsKey = subscription.spec.blsKeySecretRef;
  const containers: V1Container[] = [
    {
      name: "worker",
      image: options.defaultImage,
      args: ["avs", "worker", "--config", PATHS.config],
      ports: [
        { name: "http", containerPort: WORKER_HTTP_PORT, protocol: "TCP" },
        { name: "p2p", containerPort: WORKER_P2P_PORT, protocol: "TCP" },
      ],
      readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 10 },
      livenessProbe: { httpGet: { path: "/livez", port: "http" }, periodSeconds: 20, failureThreshold: 6 },
      securityContext: restricted,
      volumeMounts: [
        { name: "config", mountPath: "/etc/nektar", readOnly: true },
        { name: "identity", mountPath: PATHS.identity, readOnly: true },
        { name: "bls-key", mountPath: PATHS.blsKey, readOnly: true },
        { name: "data", mountPath: PATHS.data },
      ],
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
    service: {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta,
      spec: { selector: avsWorkerSelector(name), ports: [{ name: "http", port: WORKER_HTTP_PORT, targetPort: "http", protocol: "TCP" }] },
    },
    deployment: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta,
      spec: {
        replicas: 1,
        // One worker per subscription: two would answer every task twice. Recreate also frees
        // the ReadWriteOnce volume before the next pod mounts it.
        strategy: { type: "Recreate" },
        selector: { matchLabels: avsWorkerSelector(name) },
        template: {
          metadata: { labels, annotations: { "nektar.network/config-hash": createHash("sha256").update(workerConfig).digest("hex") } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: WORKER_UID, runAsGroup: WORKER_UID, fsGroup: WORKER_UID, seccompProfile: { type: "RuntimeDefault" } },
            containers,
            volumes: [
              { name: "config", configMap: { name: objectName } },
              { name: "identity", secret: { secretName: operator.spec.identitySecretRef.name, defaultMode: 0o400 } },
              {
                name: "bls-key",
                secret: {
                  secretName: blsKey.name,
                  defaultMode: 0o400,
                  items: [
                    { key: blsKey.keystoreKey ?? "keystore.json", path: "keystore.json" },
                    { key: blsKey.passwordKey ?? "password.txt", path: "password.txt" },
                  ],
                },
              },
              { name: "data", persistentVolumeClaim: { claimName: avsWorkerDataName(name) } },
            ],
          },
        },
      },
    },
    // Owned by the subscription: deleted with it, when no worker answers for it any more.
    persistentVolumeClaim: {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: ownedMeta(subscription, avsWorkerDataName(name), labels),
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: operator.spec.storage?.storageClassName,
        resources: { requests: { storage: operator.spec.storage?.size ?? DEFAULT_WORKER_STORAGE } },
      },
    },
  };
}
