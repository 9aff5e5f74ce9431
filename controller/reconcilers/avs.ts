/**
 * AVSSubscription -> its AVS worker, and a status from the worker's Deployment. On-chain
 * registration is the worker's to report (status.registered, status.tasksAnswered); the
 * controller does not claim it.
 */
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import { AVSSubscriptionKind } from "../api/v1alpha1.js";
import { avsWorkerName, avsWorkerResources } from "../resources/avs.js";
import type { ControllerClient } from "./client.js";
import { setConditions, type Observation } from "./conditions.js";
import { splitKey, type Informers } from "./informers.js";
import { statusChanged, type ReconcileResult } from "./reconciler.js";

export class AvsSubscriptionReconciler {
  constructor(
    private readonly informers: Informers,
    private readonly client: ControllerClient,
    private readonly options: { defaultImage: string },
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const subscription = this.informers.avsSubscriptions.get(name, namespace);
    if (subscription === undefined || subscription.metadata?.deletionTimestamp) return "done"; // its worker is garbage collected
    const operator = this.informers.operators.get(subscription.spec.operatorRef.name, namespace);

    let observations: Observation[];
    if (operator === undefined) {
      // Without its operator's node the worker could not sign: it is not started.
      const message = `Operator ${subscription.spec.operatorRef.name} does not exist in this namespace`;
      observations = [
        { type: "Ready", status: "False", reason: "OperatorNotFound", message },
        { type: "Progressing", status: "False", reason: "OperatorNotFound", message },
        { type: "Degraded", status: "True", reason: "OperatorNotFound", message },
      ];
    } else {
      for (const object of Object.values(avsWorkerResources(subscription, this.options)) as KubernetesObject[]) {
        await this.client.ensure(object, this.informers.ownedObject(object.kind, namespace, object.metadata?.name));
      }
      const deployment = this.informers.deployments.get(avsWorkerName(name), namespace) as V1Deployment | undefined;
      const available = (deployment?.status?.availableReplicas ?? 0) > 0;
      observations = [
        available
          ? { type: "Ready", status: "True", reason: "WorkerAvailable", message: "the AVS worker is running" }
          : { type: "Ready", status: "False", reason: "WorkerNotAvailable", message: "the AVS worker's pod is not available" },
        { type: "Progressing", status: available ? "False" : "True", reason: available ? "Available" : "WaitingForWorker", message: "" },
        { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
      ];
    }
    const status = {
      ...subscription.status,
      observedGeneration: subscription.metadata?.generation,
      conditions: setConditions(subscription.status?.conditions, observations, subscription.metadata?.generation ?? 0),
    };
    if (statusChanged(subscription.status, status)) await this.client.applyStatus(AVSSubscriptionKind, subscription, status);
    return "done";
  }
}
