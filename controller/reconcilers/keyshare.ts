/**
 * KeyShare -> its status as the operator's node reports it, and on deletion the export of its
 * slashing-protection records (EIP-3076) into a ConfigMap that outlives it, so that the share can
 * be moved to another node without ever signing below what it already signed. The keystore
 * itself reaches the node through the Operator's Secret (operator.ts, resources/keyshares.ts).
 */
import { ApiException, CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Secret } from "@kubernetes/client-node";
import type { Logger } from "../../services/core/log/index.js";
import { KeyShareKind, type KeyShare, type Operator } from "../api/v1alpha1.js";
import { duplicateOf } from "../resources/keyshares.js";
import { FIELD_MANAGER, LABELS } from "../resources/meta.js";
import { FINALIZER, type ControllerClient } from "./client.js";
import { ClusterLocks } from "./cluster-locks.js";
import { setConditions, type Observation } from "./conditions.js";
import { keyOf, splitKey, type Informers } from "./informers.js";
import { KEYSTORE_FRESH_MS, type Keystore, type Keystores } from "./keystores.js";
import type { NodeApi, NodeReport } from "./node-api.js";
import { statusChanged, type ReconcileResult } from "./reconciler.js";

/** The last report of each operator's node ("namespace/name" -> report), kept by the Operator reconciler. */
export type NodeReports = Map<string, NodeReport>;

/** How soon a KeyShare whose keystore Secret is missing looks for it again. */
const MISSING_KEYSTORE_RETRY_MS = 10_000;

export const slashingProtectionConfigMapName = (keyShare: string): string => `${keyShare}-slashing-protection`;

export class KeyShareReconciler {
  private readonly core: CoreV1Api;
  private readonly clusterLocks: ClusterLocks;

  constructor(
    kc: KubeConfig,
    private readonly informers: Informers,
    private readonly client: ControllerClient,
    private readonly nodeApi: NodeApi,
    private readonly reports: NodeReports,
    private readonly keystores: Keystores,
    /** Called when a share's keystore changed: its operator's node Secret follows. */
    private readonly onKeystoreChanged: (keyShare: KeyShare) => void,
    private readonly log: Logger,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.clusterLocks = new ClusterLocks(this.core, informers);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const keyShare = this.informers.keyShares.get(name, namespace);
    if (keyShare === undefined) {
      this.keystores.set(key, undefined);
      return "done";
    }
    const operator = this.informers.operators.get(keyShare.spec.operatorRef.name, namespace);
    if (keyShare.metadata?.deletionTimestamp) return this.finalize(keyShare, operator);
    // The finalizer and the share's files at once: two round trips to the API server, not three, for a new share.
    const finalizer = keyShare.metadata?.finalizers?.includes(FINALIZER) ? undefined : this.client.setFinalizer(KeyShareKind, keyShare, true);
    // What goes to the node is read again once it is stale (a rotated Secret); a missing one every time.
    const read = this.keystores.fresh(key) ? undefined : this.readShareFiles(keyShare);
    const [, files] = await Promise.all([finalizer, read]);
    let problem: Problem | undefined;
    if (files !== undefined) {
      if (this.keystores.set(key, "keystore" in files ? files : undefined)) this.onKeystoreChanged(keyShare);
      if (!("keystore" in files)) problem = files;
    }
    const duplicate = duplicateOf(keyShare, this.informers.keyShares.list(namespace));
    if (duplicate !== undefined) {
      problem = { reason: "DuplicateValidator", message: `KeyShare ${duplicate.metadata?.name} gives operator ${keyShare.spec.operatorRef.name} a share of this validator already; a node holds one` };
    }
    const onNode = operator ? this.reports.get(keyOf(operator))?.keyShares.find((s) => s.name === name) : undefined;
    const state = onNode === undefined ? "Pending" : onNode.lastDuty ? "Active" : "Loaded";
    const status = {
      observedGeneration: keyShare.metadata?.generation,
      state,
      ...(onNode?.lastDuty ? { lastDuty: onNode.lastDuty } : {}),
      conditions: setConditions(keyShare.status?.conditions, observe(keyShare, operator, problem, state), keyShare.metadata?.generation ?? 0),
    };
    if (statusChanged(keyShare.status, status)) await this.client.applyStatus(KeyShareKind, keyShare, status);
    // Secrets and ConfigMaps other than the controller's are not watched: look again for a missing or stale one.
    return { requeueAfterMs: problem === undefined ? KEYSTORE_FRESH_MS : MISSING_KEYSTORE_RETRY_MS };
  }

  /**
   * A share the node has held has slashing-protection records on the node's volume: they are
   * exported before the KeyShare may go. A share no node ever reported holding has none.
   * Exporting twice (a run from a cache that still shows the finalizer) writes the same ConfigMap.
   */
  private async finalize(keyShare: KeyShare, operator: Operator | undefined): Promise<ReconcileResult> {
    if (!keyShare.metadata?.finalizers?.includes(FINALIZER)) return "done";
    const held = keyShare.status?.state === "Loaded" || keyShare.status?.state === "Active" || keyShare.status?.state === "Exporting";
    // A reachable node is asked even for a share not yet seen on it: it may have loaded it since.
    const reachable = operator !== undefined && this.reports.has(keyOf(operator));
    if (held || reachable) {
      if (operator === undefined) {
        await this.setExportStatus(keyShare, "OperatorNotFound", `Operator ${keyShare.spec.operatorRef.name} is gone: restore it so that the share's slashing protection can be exported`);
        return { requeueAfterMs: 30_000 };
      }
      let interchange: string;
      try {
        interchange = await this.nodeApi.exportSlashingProtection(operator, keyShare.spec.validatorPubkey);
      } catch (error) {
        await this.setExportStatus(keyShare, "ExportFailed", `cannot export slashing protection from the node: ${(error as Error).message}`);
        throw error;
      }
      const configMap = await this.client.apply(exportConfigMap(keyShare, interchange));
      await this.client.event(keyShare, { type: "Normal", reason: "SlashingProtectionExported", action: "Finalize", note: `exported to ConfigMap ${configMap.metadata?.name}` }).catch((error: unknown) => this.log.warn({ err: error }, "could not record an event"));
    }
    await this.client.setFinalizer(KeyShareKind, keyShare, false);
    return "done";
  }

  private async setExportStatus(keyShare: KeyShare, reason: string, message: string): Promise<void> {
    const conditions = setConditions(
      keyShare.status?.conditions,
      [
        { type: "Ready", status: "False", reason: "Exporting", message: "deleting: exporting slashing protection first" },
        { type: "Degraded", status: "True", reason, message },
      ],
      keyShare.metadata?.generation ?? 0,
    );
    const status = { ...keyShare.status, state: "Exporting" as const, conditions };
    if (statusChanged(keyShare.status, status)) await this.client.applyStatus(KeyShareKind, keyShare, status);
  }

  /**
   * What goes to the node: the share's keystore and password from its Secret (the controller's
   * cache holds a DistributedValidator's output Secrets; others are read), and its cluster lock.
   */
  private async readShareFiles(keyShare: KeyShare): Promise<Keystore | Problem> {
    const ref = keyShare.spec.keystoreSecretRef;
    const namespace = keyShare.metadata!.namespace!;
    const secret =
      (this.informers.secrets.get(ref.name, namespace) as V1Secret | undefined) ??
      (await this.core.readNamespacedSecret({ namespace, name: ref.name }).catch((error: unknown) => {
        if (error instanceof ApiException && error.code === 404) return undefined;
        throw error;
      }));
    const keystore = secret?.data?.[ref.keystoreKey ?? "keystore.json"];
    const password = secret?.data?.[ref.passwordKey ?? "password.txt"];
    if (keystore === undefined || password === undefined) {
      return { reason: "KeystoreSecretNotFound", message: `Secret ${ref.name} does not exist in this namespace or lacks the keystore or password key` };
    }
    const lookup = await this.clusterLocks.forKeyShare(keyShare);
    if (!("lock" in lookup)) return lookup;
    return { keystore: Buffer.from(keystore, "base64"), password: Buffer.from(password, "base64"), clusterLock: lookup.lock };
  }
}

/** Why a share cannot go to its node. */
interface Problem {
  reason: string;
  message: string;
}

function observe(keyShare: KeyShare, operator: Operator | undefined, filesProblem: Problem | undefined, state: string): Observation[] {
  const found = operator === undefined ? { reason: "OperatorNotFound", message: `Operator ${keyShare.spec.operatorRef.name} does not exist in this namespace` } : filesProblem;
  const problem: Observation | undefined = found && { type: "Degraded", status: "True", ...found };
  const ready: Observation =
    state === "Pending"
      ? { type: "Ready", status: "False", reason: problem?.reason ?? "NotOnNode", message: problem?.message ?? "the operator's node has not reported holding this share" }
      : { type: "Ready", status: "True", reason: state, message: `the node holds this share (${state})` };
  return [
    ready,
    { type: "Progressing", status: state === "Pending" && !problem ? "True" : "False", reason: state === "Pending" ? "Delivering" : "Delivered", message: "" },
    problem ?? { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
  ];
}

/**
 * The exported interchange, kept after the KeyShare is gone (no owner reference): importing it is
 * what makes moving the share to another node safe.
 */
function exportConfigMap(keyShare: KeyShare, interchange: string): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: slashingProtectionConfigMapName(keyShare.metadata!.name!),
      namespace: keyShare.metadata!.namespace,
      labels: { [LABELS.managedBy]: FIELD_MANAGER, [LABELS.partOf]: "nektar", [LABELS.operator]: keyShare.spec.operatorRef.name, [LABELS.component]: "slashing-protection" },
      annotations: { "nektar.network/validator-pubkey": keyShare.spec.validatorPubkey },
    },
    data: { "interchange.json": interchange },
  };
}
