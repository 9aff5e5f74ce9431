/**
 * AVSSubscription -> its AVS worker, and a status from what is observed: the worker's Deployment
 * for Ready, and the worker itself (its /status) for `registered` and `tasksAnswered`, which only
 * it knows: the controller does not claim an on-chain registration.
 */
import { type KubernetesObject, type V1Deployment } from "@kubernetes/client-node";
import { AVSSubscriptionKind } from "../api/v1alpha1.js";
import { avsWorkerName, avsWorkerResources } from "../resources/avs.js";
import type { AvsWorkerApi, AvsWorkerReport } from "./avs-worker-api.js";
import { apiErrorMessage, type ControllerClient } from "./client.js";
import { setConditions, type Observation } from "./conditions.js";
import { splitKey, type Informers } from "./informers.js";
import { statusChanged, type ReconcileResult } from "./reconciler.js";

/** How often a running worker is asked for its status when nothing else happens. */
const OBSERVE_EVERY_MS = 30_000;

export class AvsSubscriptionReconciler {
  constructor(
    private readonly informers: Informers,
    private readonly client: ControllerClient,
    private readonly workerApi: AvsWorkerApi,
    private readonly options: { defaultImage: string },
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const subscription = this.informers.avsSubscriptions.get(name, namespace);
    if (subscription === undefined || subscription.metadata?.deletionTimestamp) return "done"; // its worker is garbage collected
    const operator = this.informers.operators.get(subscription.spec.operatorRef.name, namespace);

    let observations: Observation[];
    let report: AvsWorkerReport | undefined;
    let available = false;
    let applyError: unknown;
    if (operator === undefined) {
      // Without its operator (its identity, its chain endpoint) there is no worker to run.
      const message = `Operator ${subscription.spec.operatorRef.name} does not exist in this namespace`;
      observations = [
        { type: "Ready", status: "False", reason: "OperatorNotFound", message },
        { type: "Progressing", status: "False", reason: "OperatorNotFound", message },
        { type: "Degraded", status: "True", reason: "OperatorNotFound", message },
      ];
    } else {
      try {
        // The volume comes last: a change the API server refuses there (a claim's class cannot
        // change) must not hold back the worker's configuration.
        for (const object of Object.values(avsWorkerResources(subscription, operator, this.options)) as KubernetesObject[]) {
          await this.client.ensure(object, this.informers.ownedObject(object.kind, namespace, object.metadata?.name));
        }
      } catch (error) {
        applyError = error;
      }
      const deployment = this.informers.deployments.get(avsWorkerName(name), namespace) as V1Deployment | undefined;
      available = (deployment?.status?.availableReplicas ?? 0) > 0;
      report = available ? await this.workerApi.status(subscription).catch(() => undefined) : undefined;
      const unreachable = available && report === undefined;
      observations = [
        !available
          ? { type: "Ready", status: "False", reason: "WorkerNotAvailable", message: "the AVS worker's pod is not available" }
          : unreachable
            ? { type: "Ready", status: "False", reason: "WorkerStatusUnreachable", message: "the AVS worker's pod is ready but its /status does not answer" }
            : { type: "Ready", status: "True", reason: "WorkerAvailable", message: `the AVS worker is running${report!.registered ? "" : "; the operator is not a member of the AVS on-chain"}` },
        { type: "Progressing", status: available ? "False" : "True", reason: available ? "Available" : "WaitingForWorker", message: "" },
        applyError !== undefined
          ? { type: "Degraded", status: "True", reason: "ApplyFailed", message: apiErrorMessage(applyError) }
          : unreachable
            ? { type: "Degraded", status: "True", reason: "WorkerStatusUnreachable", message: "the AVS worker's /status does not answer" }
            : { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
      ];
    }
    const status = {
      ...subscription.status,
      ...report,
      observedGeneration: subscription.metadata?.generation,
      conditions: setConditions(subscription.status?.conditions, observations, subscription.metadata?.generation ?? 0),
    };
    if (statusChanged(subscription.status, status)) await this.client.applyStatus(AVSSubscriptionKind, subscription, status);
    if (applyError !== undefined) throw applyError; // retried with backoff
    return available ? { requeueAfterMs: OBSERVE_EVERY_MS } : "done";
  }
}
