/**
 * What an Operator becomes: one `nektar node` pod in a StatefulSet (one replica, a volume for
 * slashing protection that outlives the pod), its headless Service, its configuration, a
 * PodDisruptionBudget and a NetworkPolicy. Pure functions of the Operator: the reconciler
 * server-side applies their output, so the same Operator always yields the same objects.
 */
import { createHash } from "node:crypto";
import type {
  V1ConfigMap,
  V1NetworkPolicy,
  V1PodDisruptionBudget,
  V1Service,
  V1StatefulSet,
} from "@kubernetes/client-node";
import type { NodeConfig } from "../../services/signer/node/config.js";
import type { Operator } from "../api/v1alpha1.js";
import { LABELS, ownedMeta } from "./meta.js";

export const DEFAULT_P2P_PORT = 9000;
export const API_PORT = 3600;
export const METRICS_PORT = 9464;
export const DEFAULT_STORAGE = "1Gi";

/** Where the node finds what the controller gives it. */
export const PATHS = {
  config: "/etc/nektar/node.json",
  identity: "/var/run/nektar/identity",
  keyShares: "/var/run/nektar/keyshares",
  data: "/var/lib/nektar",
} as const;

/** The node's UID; the volume is group-owned by it (fsGroup) so the node can write it. */
const NODE_UID = 65532;

export interface OperatorResourceOptions {
  /** Image of `nektar node` when the Operator does not name one. */
  defaultImage: string;
  /** Namespace of the controller, allowed to reach the node's API for status. */
  controllerNamespace: string;
}

export interface OperatorResources {
  configMap: V1ConfigMap;
  service: V1Service;
  statefulSet: V1StatefulSet;
  podDisruptionBudget: V1PodDisruptionBudget;
  networkPolicy: V1NetworkPolicy;
}

/** Name of every object of an operator's node. */
export const nodeName = (operator: string): string => `${operator}-node`;

/** Another operator's node, as this one's node.json lists it (see services/signer/node/config.ts). */
export type NodePeer = NonNullable<NodeConfig["peers"]>[number];

/**
 * Where the other nodes dial an operator's node: its spec.p2p.externalAddress, else its pod's
 * DNS name under the headless Service (the StatefulSet's one pod is `<name>-0`).
 */
export function nodeMultiaddr(operator: Operator): string {
  const name = operator.metadata!.name!;
  return operator.spec.p2p?.externalAddress ?? `/dns4/${nodeName(name)}-0.${nodeName(name)}.${operator.metadata!.namespace}.svc/tcp/${operator.spec.p2p?.port ?? DEFAULT_P2P_PORT}`;
}
/** The Secret the KeyShare reconciler fills with the operator's keystores (see keyshare.ts). */
export const keySharesSecretName = (operator: string): string => `${operator}-keyshares`;

export function selectorLabels(operator: string): Record<string, string> {
  return { [LABELS.name]: "nektar-node", [LABELS.instance]: operator, [LABELS.operator]: operator };
}

/**
 * `peers`: the other Operators' nodes, whose addresses the node dials in place of the ones its
 * cluster locks list (those of the DKG's Jobs, gone once it is done); the locks still say which
 * of them it admits.
 */
export function operatorResources(operator: Operator, options: OperatorResourceOptions, peers: readonly NodePeer[] = []): OperatorResources {
  const name = operator.metadata!.name!;
  const objectName = nodeName(name);
  const labels = { ...selectorLabels(name), [LABELS.component]: "node" };
  const meta = ownedMeta(operator, objectName, labels);
  const p2pPort = operator.spec.p2p?.port ?? DEFAULT_P2P_PORT;

  // Typed by the node's own schema, so the two cannot drift (a type-only import: the controller
  // does not load the signer's code; operator.test.ts runs the node's check on it).
  const config: NodeConfig = {
    network: operator.spec.network,
    beaconNodeUrls: operator.spec.beaconNodeUrls,
    executionUrl: operator.spec.executionUrl,
    p2p: { port: p2pPort, externalAddress: operator.spec.p2p?.externalAddress },
    api: { port: API_PORT },
    metrics: { port: METRICS_PORT },
    identityFile: `${PATHS.identity}/identity.key`,
    keySharesDir: PATHS.keyShares,
    dataDir: PATHS.data,
    // In a stable order, so the config hash changes only when a peer does.
    peers: [...peers].sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0)),
  };
  const nodeConfig = `${JSON.stringify(config, null, 2)}\n`;

  const configMap: V1ConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: meta, data: { "node.json": nodeConfig } };

  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta,
    spec: {
      // Headless: the StatefulSet's pod gets a stable DNS name, peers dial it directly.
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: selectorLabels(name),
      ports: [
        { name: "p2p", port: p2pPort, targetPort: "p2p", protocol: "TCP" },
        { name: "api", port: API_PORT, targetPort: "api", protocol: "TCP" },
        { name: "metrics", port: METRICS_PORT, targetPort: "metrics", protocol: "TCP" },
      ],
    },
  };

  const statefulSet: V1StatefulSet = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta,
    spec: {
      // One replica, never more: two pods with the same shares could sign twice.
      replicas: 1,
      serviceName: objectName,
      podManagementPolicy: "OrderedReady",
      selector: { matchLabels: selectorLabels(name) },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      template: {
        metadata: {
          labels,
          // A configuration change restarts the node; KeyShares do not (their Secret is hot-loaded).
          annotations: { "nektar.network/config-hash": sha256(nodeConfig) },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 60,
          securityContext: { runAsNonRoot: true, runAsUser: NODE_UID, runAsGroup: NODE_UID, fsGroup: NODE_UID, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "node",
              image: operator.spec.image ?? options.defaultImage,
              args: ["node", "--config", PATHS.config],
              ports: [
                { name: "p2p", containerPort: p2pPort, protocol: "TCP" },
                { name: "api", containerPort: API_PORT, protocol: "TCP" },
                { name: "metrics", containerPort: METRICS_PORT, protocol: "TCP" },
              ],
              readinessProbe: { httpGet: { path: "/readyz", port: "api" }, periodSeconds: 10 },
              livenessProbe: { httpGet: { path: "/livez", port: "api" }, periodSeconds: 20, failureThreshold: 6 },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              volumeMounts: [
                { name: "config", mountPath: "/etc/nektar", readOnly: true },
                { name: "identity", mountPath: PATHS.identity, readOnly: true },
                { name: "keyshares", mountPath: PATHS.keyShares, readOnly: true },
                { name: "data", mountPath: PATHS.data },
              ],
            },
          ],
          volumes: [
            { name: "config", configMap: { name: objectName } },
            { name: "identity", secret: { secretName: operator.spec.identitySecretRef.name, defaultMode: 0o400 } },
            // Optional: the Secret exists once the first KeyShare is assigned.
            { name: "keyshares", secret: { secretName: keySharesSecretName(name), defaultMode: 0o400, optional: true } },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: "data", labels },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: operator.spec.storage?.storageClassName,
            resources: { requests: { storage: operator.spec.storage?.size ?? DEFAULT_STORAGE } },
          },
        },
      ],
    },
  };

  const podDisruptionBudget: V1PodDisruptionBudget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta,
    spec: {
      // A drain must not take a healthy node away unnoticed: the DV keeps signing only while at
      // least `threshold` operators are up. An unhealthy node may always be evicted.
      minAvailable: 1,
      unhealthyPodEvictionPolicy: "AlwaysAllow",
      selector: { matchLabels: selectorLabels(name) },
    },
  };

  const networkPolicy: V1NetworkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta,
    spec: {
      podSelector: { matchLabels: selectorLabels(name) },
      policyTypes: ["Ingress"],
      ingress: [
        // Peers (other operators, possibly in other clusters) dial libp2p.
        { ports: [{ port: p2pPort, protocol: "TCP" }] },
        // The API and metrics: this namespace (Prometheus, AVS workers) and the controller.
        {
          ports: [
            { port: API_PORT, protocol: "TCP" },
            { port: METRICS_PORT, protocol: "TCP" },
          ],
          _from: [
            { podSelector: {} },
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": options.controllerNamespace } } },
          ],
        },
      ],
    },
  };

  return { configMap, service, statefulSet, podDisruptionBudget, networkPolicy };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
