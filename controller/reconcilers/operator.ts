/**
 * Operator -> its node's objects, and a status from what is observed of them. Level-triggered:
 * every run computes the whole desired state from the caches and applies it, so it does not
 * matter which event (or restart) caused the run, and running it twice changes nothing.
 */
import { type KubernetesObject, type V1StatefulSet } from "@kubernetes/client-node";
import type { Logger } from "../../services/core/log/index.js";
import { OperatorKind, type Condition, type KeyShare, type Operator } from "../api/v1alpha1.js";
import { duplicateOf, keySharesSecret, type LoadedKeyShare } from "../resources/keyshares.js";
import { type NodePeer, nodeMultiaddr, operatorResources, type OperatorResourceOptions, nodeName } from "../resources/operator.js";
import { FINALIZER, apiErrorMessage, type ControllerClient } from "./client.js";
import { setConditions, type Observation } from "./conditions.js";
import { IdentityUnavailable, type OperatorIdentities } from "./identities.js";
import { keyOf, splitKey, type Informers } from "./informers.js";
import type { NodeReports } from "./keyshare.js";
import type { Keystores } from "./keystores.js";
import type { NodeApi, NodeReport } from "./node-api.js";
import { statusChanged, type ReconcileResult } from "./reconciler.js";

/** How often a ready node is asked for its status when nothing else happens. */
const OBSERVE_EVERY_MS = 30_000;
/** How soon to look again for a peer's identity Secret (not watched). */
const IDENTITY_RETRY_MS = 10_000;

export class OperatorReconciler {
  constructor(
    private readonly informers: Informers,
    private readonly client: ControllerClient,
    private readonly nodeApi: NodeApi,
    private readonly reports: NodeReports,
    private readonly keystores: Keystores,
    private readonly identities: OperatorIdentities,
    /** Called when what an operator's node reports changed: its KeyShares' statuses follow it. */
    private readonly onReportChanged: (operator: Operator) => void,
    private readonly options: OperatorResourceOptions,
    private readonly log: Logger,
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const operator = this.informers.operators.get(name, namespace);
    if (operator === undefined) {
      this.reports.delete(key);
      return "done"; // deleted: its objects are garbage collected
    }
    const keyShares = this.informers.keyShares.list(namespace).filter((ks) => ks.spec.operatorRef.name === name && !ks.metadata?.deletionTimestamp);

    if (operator.metadata?.deletionTimestamp) return this.finalize(operator);
    if (!operator.metadata?.finalizers?.includes(FINALIZER)) await this.client.setFinalizer(OperatorKind, operator, true);

    const { peers, missing } = await this.peers(operator);
    let applyError: unknown;
    try {
      const objects: KubernetesObject[] = [...Object.values(operatorResources(operator, this.options, peers)), keySharesSecret(operator, this.deliverable(keyShares))];
      for (const object of objects) await this.client.ensure(object, this.informers.ownedObject(object.kind, namespace, object.metadata?.name));
    } catch (error) {
      applyError = error;
    }

    const statefulSet = this.informers.statefulSets.get(nodeName(name), namespace) as V1StatefulSet | undefined;
    const readyReplicas = statefulSet?.status?.readyReplicas ?? 0;
    const report = readyReplicas > 0 ? await this.nodeApi.report(operator).catch(() => undefined) : undefined;
    this.remember(operator, report);
    const status = {
      observedGeneration: operator.metadata?.generation,
      readyReplicas,
      keyShares: keyShares.length,
      ...(report ? { peerId: report.peerId, connectedPeers: report.connectedPeers } : {}),
      conditions: setConditions(operator.status?.conditions, observe(statefulSet, readyReplicas, report, applyError), operator.metadata?.generation ?? 0),
    };
    if (statusChanged(operator.status, status)) {
      await this.client.applyStatus(OperatorKind, operator, status);
      await this.recordTransitions(operator, operator.status?.conditions, status.conditions);
    }
    if (applyError !== undefined) throw applyError;
    if (missing) return { requeueAfterMs: IDENTITY_RETRY_MS };
    return readyReplicas > 0 ? { requeueAfterMs: OBSERVE_EVERY_MS } : "done";
  }

  /**
   * Every other Operator of the namespace as a peer of this one's node: its peer id from its
   * identity Secret, its node's address. The node dials those its cluster locks list. One whose
   * identity cannot be read yet is left out (`missing`), and looked for again soon.
   */
  private async peers(operator: Operator): Promise<{ peers: NodePeer[]; missing: boolean }> {
    const others = this.informers.operators.list(operator.metadata?.namespace).filter((o) => o.metadata?.name !== operator.metadata?.name);
    const peers: NodePeer[] = [];
    let missing = false;
    for (const other of others) {
      try {
        const { identity } = await this.identities.read(other);
        peers.push({ peerId: identity.peerId.toString(), multiaddrs: [nodeMultiaddr(other)] });
      } catch (error) {
        if (!(error instanceof IdentityUnavailable)) throw error;
        missing = true;
        this.log.debug({ operator: keyOf(operator), peer: other.metadata?.name, reason: error.message }, "peer left out of node.json");
      }
    }
    return { peers, missing };
  }

  /**
   * The node keeps its volume, and with it the slashing-protection records of its shares, until
   * every KeyShare assigned to it is gone: their finalizers export those records from the node.
   */
  private async finalize(operator: Operator): Promise<ReconcileResult> {
    const { name, namespace } = operator.metadata!;
    const remaining = this.informers.keyShares.list(namespace).filter((ks) => ks.spec.operatorRef.name === name);
    if (remaining.length > 0) {
      const conditions = setConditions(
        operator.status?.conditions,
        [{ type: "Ready", status: "False", reason: "Deleting", message: `waiting for ${remaining.length} KeyShare(s) to be deleted first: ${remaining.map((ks) => ks.metadata?.name).join(", ")}` }],
        operator.metadata?.generation ?? 0,
      );
      if (statusChanged(operator.status, { ...operator.status, conditions })) await this.client.applyStatus(OperatorKind, operator, { ...operator.status, conditions });
      return "done"; // woken again by the KeyShares' deletion
    }
    if (operator.metadata?.finalizers?.includes(FINALIZER)) await this.client.setFinalizer(OperatorKind, operator, false);
    return "done";
  }

  private remember(operator: Operator, report: NodeReport | undefined): void {
    const key = keyOf(operator);
    if (!statusChanged(this.reports.get(key), report ?? {})) return;
    if (report === undefined) this.reports.delete(key);
    else this.reports.set(key, report);
    this.onReportChanged(operator);
  }

  /**
   * The shares to put on the node: those whose keystore has been read, and only once they carry
   * the finalizer, so that no share reaches a node without its slashing protection being exported
   * on deletion. The others follow when the KeyShare reconciler has done both. Of two shares of
   * one validator, only the first by name (the KeyShare reconciler reports the other).
   */
  private deliverable(keyShares: readonly KeyShare[]): LoadedKeyShare[] {
    return keyShares.flatMap((keyShare) => {
      const keystore = keyShare.metadata?.finalizers?.includes(FINALIZER) && !duplicateOf(keyShare, keyShares) ? this.keystores.get(keyOf(keyShare)) : undefined;
      return keystore ? [{ keyShare, ...keystore }] : [];
    });
  }

  private async recordTransitions(operator: Operator, before: readonly Condition[] | undefined, after: readonly Condition[]): Promise<void> {
    for (const condition of after) {
      const previous = before?.find((c) => c.type === condition.type);
      if (previous?.status === condition.status || condition.type === "Progressing") continue;
      const warning = (condition.type === "Ready" && condition.status === "False") || (condition.type === "Degraded" && condition.status === "True");
      await this.client
        .event(operator, { type: warning ? "Warning" : "Normal", reason: condition.reason, action: "Reconcile", note: `${condition.type}=${condition.status}: ${condition.message}`.slice(0, 1024) })
        .catch((error: unknown) => this.log.warn({ err: error }, "could not record an event"));
    }
  }
}

/** Ready, Progressing and Degraded from what was observed, never from what was asked for. */
function observe(statefulSet: V1StatefulSet | undefined, readyReplicas: number, report: NodeReport | undefined, applyError: unknown): Observation[] {
  const rolledOut =
    statefulSet !== undefined &&
    (statefulSet.status?.observedGeneration ?? 0) >= (statefulSet.metadata?.generation ?? 1) &&
    statefulSet.status?.updateRevision === statefulSet.status?.currentRevision;
  const ready: Observation =
    readyReplicas === 0
      ? { type: "Ready", status: "False", reason: "PodNotReady", message: "the node's pod is not ready" }
      : report === undefined
        ? { type: "Ready", status: "False", reason: "NodeApiUnreachable", message: "the node's pod is ready but its API does not answer" }
        : { type: "Ready", status: "True", reason: "NodeReady", message: `node ${report.peerId} is up with ${report.connectedPeers} peer(s)` };
  const progressing: Observation = !rolledOut
    ? { type: "Progressing", status: "True", reason: "RollingOut", message: "the node's StatefulSet is being rolled out" }
    : readyReplicas === 0
      ? { type: "Progressing", status: "True", reason: "WaitingForPod", message: "waiting for the node's pod to become ready" }
      : { type: "Progressing", status: "False", reason: "RolledOut", message: "the node runs the current configuration" };
  const degraded: Observation =
    applyError !== undefined
      ? { type: "Degraded", status: "True", reason: "ApplyFailed", message: apiErrorMessage(applyError) }
      : readyReplicas > 0 && report === undefined
        ? { type: "Degraded", status: "True", reason: "NodeApiUnreachable", message: "the node's API does not answer" }
        : { type: "Degraded", status: "False", reason: "AsExpected", message: "" };
  return [ready, progressing, degraded];
}
