/**
 * What a DistributedValidator becomes. Its DKG is `nektar dkg`, run once per operator in a Job
 * (share i by operators[i-1]'s identity), from a cluster definition the controller writes and
 * signs with each operator's identity. Each Job's pod has a stable DNS name,
 * `<dv>-dkg-<i>.<dv>-dkg.<namespace>.svc` (its hostname and subdomain, and the headless Service
 * `<dv>-dkg`), which is its multiaddr in the definition, so the operators find each other
 * however the pods are scheduled or restarted. Those addresses stay in the lock, dead once the
 * DKG is done: the nodes dial each other where node.json's `peers` says (operator.ts).
 *
 * A Job's pod runs `nektar dkg` as its init container, into a memory-backed emptyDir, then
 * `nektar controller publish-dkg-output`, which puts the output into the Secret
 * `<dv>-dkg-output-<i>` (dkgOutputSecret below: the contract between the two). Once every Job
 * has completed, the controller makes from the outputs the ConfigMaps `<dv>-cluster-lock` and
 * `<dv>-deposit-data` and one KeyShare per validator and operator.
 */
import type { V1ConfigMap, V1Job, V1Role, V1RoleBinding, V1Secret, V1Service, V1ServiceAccount } from "@kubernetes/client-node";
import { createHmac } from "node:crypto";
import { posix } from "node:path";
import { DEPOSIT_DATA_FILE, LOCK_FILE, keystoreFile } from "../../services/core/cluster/shares.js";
import type { LockValidator } from "../../services/core/cluster/lock.js";
import { networkByName } from "../../services/core/eth/index.js";
import { toHex } from "../../services/core/hex.js";
import { DEFINITION_VERSION, type ClusterDefinition, parseDefinition } from "../../services/core/p2p/definition.js";
import type { DistributedValidator, KeyShare } from "../api/v1alpha1.js";
import { API_VERSION } from "../api/v1alpha1.js";
import { FIELD_MANAGER, LABELS, ownedMeta } from "./meta.js";

/** The TCP port the DKG listens on in its pod, unless the controller is told another. */
export const DEFAULT_DKG_PORT = 9100;
/** The keystores' password in an output Secret (the other keys: LOCK_FILE, DEPOSIT_DATA_FILE, keystoreFile(v)). */
export const PASSWORD_KEY = "password.txt";

/** Where things are in a DKG Job's pod. */
export const DKG_PATHS = {
  definition: "/etc/nektar/dkg/definition.json",
  identity: "/var/run/nektar/identity/identity.key",
  password: `/var/run/nektar/dkg-password/${PASSWORD_KEY}`,
  /** An emptyDir; `nektar dkg` creates `out` in it (it publishes its output folder by renaming). */
  output: "/var/run/nektar/dkg/out",
} as const;

export interface DkgResourceOptions {
  /** Image of the Jobs when the DistributedValidator names none. */
  defaultImage: string;
  dkgPort: number;
}

/** An operator of the DKG, as it goes into the cluster definition. */
export interface DkgOperator {
  name: string;
  /** Its Ethereum address (Operator spec.address). */
  address: string;
  /** From its identity Secret. */
  peerId: string;
}

/** Name of the DKG's definition ConfigMap, headless Service, ServiceAccount, Role and RoleBinding. */
export const dkgName = (dv: string): string => `${dv}-dkg`;
/** The Job of share i, and its pod's hostname. */
export const dkgJobName = (dv: string, shareIndex: number): string => `${dv}-dkg-${shareIndex}`;
export const dkgPasswordsSecretName = (dv: string): string => `${dv}-dkg-passwords`;
export const dkgOutputSecretName = (dv: string, shareIndex: number): string => `${dv}-dkg-output-${shareIndex}`;
export const clusterLockConfigMapName = (dv: string): string => `${dv}-cluster-lock`;
export const depositDataConfigMapName = (dv: string): string => `${dv}-deposit-data`;
export const keyShareName = (dv: string, validator: number, shareIndex: number): string => `${dv}-v${validator}-s${shareIndex}`;
const passwordKey = (shareIndex: number): string => `operator-${shareIndex}`;

function labels(dv: string, component: string): Record<string, string> {
  return { [LABELS.name]: "nektar-dkg", [LABELS.instance]: dv, [LABELS.component]: component };
}

/** The multiaddr of share i's DKG pod: its DNS name under the headless Service. */
export function dkgMultiaddr(dv: DistributedValidator, shareIndex: number, port: number): string {
  const name = dv.metadata!.name!;
  return `/dns4/${dkgJobName(name, shareIndex)}.${dkgName(name)}.${dv.metadata!.namespace}.svc/tcp/${port}`;
}

/**
 * The cluster definition, unsigned. A pure function of the DistributedValidator and its
 * operators: its uuid is the DistributedValidator's, so every reconcile writes the same
 * definition (and, signatures being deterministic, the same signatures). Throws a NektarError
 * naming what does not make a valid definition.
 */
export function dkgDefinition(dv: DistributedValidator, operators: readonly DkgOperator[], port: number): ClusterDefinition {
  const { network, threshold, validators, withdrawalAddress, feeRecipient } = dv.spec;
  return parseDefinition(
    {
      version: DEFINITION_VERSION,
      uuid: dv.metadata!.uid,
      name: dv.metadata!.name,
      forkVersion: toHex(networkByName(network).genesisForkVersion),
      threshold,
      numValidators: validators,
      withdrawalAddress,
      feeRecipient,
      operators: operators.map((op, i) => ({ ...op, multiaddrs: [dkgMultiaddr(dv, i + 1, port)] })),
    },
    `DistributedValidator ${dv.metadata!.name}: cluster definition`,
  );
}

export function dkgDefinitionConfigMap(dv: DistributedValidator, definition: ClusterDefinition): V1ConfigMap {
  const name = dv.metadata!.name!;
  return { apiVersion: "v1", kind: "ConfigMap", metadata: ownedMeta(dv, dkgName(name), labels(name, "dkg")), data: { "definition.json": `${JSON.stringify(definition, null, 2)}\n` } };
}

/** Headless, and publishing pods before they are ready: it exists for the pods' DNS names. */
export function dkgService(dv: DistributedValidator, port: number): V1Service {
  const name = dv.metadata!.name!;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: ownedMeta(dv, dkgName(name), labels(name, "dkg")),
    spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: labels(name, "dkg"), ports: [{ name: "dkg", port, targetPort: port, protocol: "TCP" }] },
  };
}

/**
 * Each operator's keystore password, derived from its identity key and the DistributedValidator's
 * uid (HMAC-SHA256, its own domain): the same on every reconcile without being stored anywhere
 * first, and known only to whoever holds the identity. The keystores sit beside their password
 * in the output Secret, so it guards them at rest in that Secret's copies, not against its readers.
 */
export function dkgPasswordsSecret(dv: DistributedValidator, identitySecrets: readonly Uint8Array[]): V1Secret {
  const name = dv.metadata!.name!;
  const data: Record<string, string> = {};
  identitySecrets.forEach((secret, i) => {
    const password = createHmac("sha256", secret).update(`nektar-dkg-keystore-password:${dv.metadata!.uid}`).digest("hex");
    data[passwordKey(i + 1)] = Buffer.from(password).toString("base64");
  });
  return { apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: ownedMeta(dv, dkgPasswordsSecretName(name), labels(name, "dkg")), data };
}

/** One Job per operator; `identitySecrets[i]` names operators[i]'s identity Secret. */
export function dkgJobs(dv: DistributedValidator, identitySecrets: readonly string[], options: DkgResourceOptions): V1Job[] {
  const name = dv.metadata!.name!;
  const image = dv.spec.image ?? options.defaultImage;
  const restricted = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };
  return identitySecrets.map((identitySecret, i) => {
    const shareIndex = i + 1;
    const podLabels = { ...labels(name, "dkg"), [LABELS.operator]: dv.spec.operators[i]! };
    return {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: ownedMeta(dv, dkgJobName(name, shareIndex), podLabels),
      spec: {
        backoffLimit: 3,
        template: {
          metadata: { labels: podLabels },
          spec: {
            restartPolicy: "Never",
            // Its DNS name, the multiaddr the other operators dial (dkgMultiaddr).
            hostname: dkgJobName(name, shareIndex),
            subdomain: dkgName(name),
            serviceAccountName: dkgName(name),
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
            initContainers: [
              {
                name: "dkg",
                image,
                args: ["dkg", "--definition", DKG_PATHS.definition, "--identity", DKG_PATHS.identity, "--password-file", DKG_PATHS.password, "--out", DKG_PATHS.output],
                ports: [{ name: "dkg", containerPort: options.dkgPort, protocol: "TCP" }],
                securityContext: restricted,
                volumeMounts: [
                  { name: "definition", mountPath: posix.dirname(DKG_PATHS.definition), readOnly: true },
                  { name: "identity", mountPath: posix.dirname(DKG_PATHS.identity), readOnly: true },
                  { name: "password", mountPath: posix.dirname(DKG_PATHS.password), readOnly: true },
                  { name: "output", mountPath: posix.dirname(DKG_PATHS.output) },
                ],
              },
            ],
            containers: [
              {
                name: "publish",
                image,
                args: [
                  "controller",
                  "publish-dkg-output",
                  "--from",
                  DKG_PATHS.output,
                  "--password-file",
                  DKG_PATHS.password,
                  "--secret",
                  dkgOutputSecretName(name, shareIndex),
                  "--namespace",
                  dv.metadata!.namespace!,
                  "--owner",
                  `${name}/${dv.metadata!.uid}`,
                ],
                securityContext: restricted,
                volumeMounts: [
                  { name: "password", mountPath: posix.dirname(DKG_PATHS.password), readOnly: true },
                  { name: "output", mountPath: posix.dirname(DKG_PATHS.output), readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: "definition", configMap: { name: dkgName(name) } },
              { name: "identity", secret: { secretName: identitySecret, defaultMode: 0o400 } },
              { name: "password", secret: { secretName: dkgPasswordsSecretName(name), defaultMode: 0o400, items: [{ key: passwordKey(shareIndex), path: PASSWORD_KEY }] } },
              // Key shares in memory only, never on the node's disk; gone with the pod.
              { name: "output", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
            ],
          },
        },
      },
    };
  });
}

/**
 * The identity the DKG Jobs run as, allowed exactly one thing: creating Secrets (their outputs) in
 * the DistributedValidator's namespace. RBAC cannot limit `create` to names, so this is as narrow
 * as it gets; it goes with the DistributedValidator.
 */
export function dkgIdentity(dv: DistributedValidator): [V1ServiceAccount, V1Role, V1RoleBinding] {
  const name = dv.metadata!.name!;
  const meta = ownedMeta(dv, dkgName(name), labels(name, "dkg"));
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["create"] }] },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: dkgName(name) },
      subjects: [{ kind: "ServiceAccount", name: dkgName(name), namespace: dv.metadata!.namespace }],
    },
  ];
}

/** One operator's DKG output, as `nektar dkg` wrote it (file contents). */
export interface DkgOutputFiles {
  lock: string;
  depositData: string;
  password: string;
  /** keystores[v]: the share of validator v. */
  keystores: string[];
}

/**
 * The output Secret of one DKG Job, made by `nektar controller publish-dkg-output` in the Job's
 * pod: owned by the DistributedValidator (it goes with it) and labelled like the controller's
 * own objects, so the controller's cache holds it and its creation wakes the reconciler.
 */
export function dkgOutputSecret(owner: { name: string; uid: string; namespace: string }, secretName: string, files: DkgOutputFiles): V1Secret {
  const stringData: Record<string, string> = { [LOCK_FILE]: files.lock, [DEPOSIT_DATA_FILE]: files.depositData, [PASSWORD_KEY]: files.password };
  files.keystores.forEach((keystore, v) => (stringData[keystoreFile(v)] = keystore));
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: secretName,
      namespace: owner.namespace,
      labels: { ...labels(owner.name, "dkg-output"), [LABELS.managedBy]: FIELD_MANAGER, [LABELS.partOf]: "nektar" },
      // No blockOwnerDeletion: that needs update on the owner's finalizers, which the Job is not given.
      ownerReferences: [{ apiVersion: API_VERSION, kind: "DistributedValidator", name: owner.name, uid: owner.uid, controller: true }],
    },
    stringData,
  };
}

/** The KeyShares of a finished DKG: one per validator and operator, keystores in the output Secrets. */
export function dkgKeyShares(dv: DistributedValidator, lock: { validators: readonly Pick<LockValidator, "pubkey" | "publicShares">[] }): KeyShare[] {
  const name = dv.metadata!.name!;
  const totalShares = dv.spec.operators.length;
  return lock.validators.flatMap((validator, v) =>
    dv.spec.operators.map((operator, i): KeyShare => ({
      apiVersion: API_VERSION,
      kind: "KeyShare",
      metadata: ownedMeta(dv, keyShareName(name, v, i + 1), { ...labels(name, "keyshare"), [LABELS.operator]: operator }),
      spec: {
        operatorRef: { name: operator },
        validatorPubkey: validator.pubkey,
        shareIndex: i + 1,
        threshold: dv.spec.threshold,
        totalShares,
        publicShares: validator.publicShares,
        keystoreSecretRef: { name: dkgOutputSecretName(name, i + 1), keystoreKey: keystoreFile(v), passwordKey: PASSWORD_KEY },
        clusterLockConfigMapRef: { name: clusterLockConfigMapName(name) },
      },
    })),
  );
}

/** The lock, byte for byte as the DKG wrote it (its operators signed its hash, not its text, but nobody needs another text). */
export function clusterLockConfigMap(dv: DistributedValidator, lock: string): V1ConfigMap {
  const name = dv.metadata!.name!;
  return { apiVersion: "v1", kind: "ConfigMap", metadata: ownedMeta(dv, clusterLockConfigMapName(name), labels(name, "cluster-lock")), data: { [LOCK_FILE]: lock } };
}

export function depositDataConfigMap(dv: DistributedValidator, depositData: string): V1ConfigMap {
  const name = dv.metadata!.name!;
  return { apiVersion: "v1", kind: "ConfigMap", metadata: ownedMeta(dv, depositDataConfigMapName(name), labels(name, "deposit-data")), data: { [DEPOSIT_DATA_FILE]: depositData } };
}
