/**
 * What the controller asks a running AVS worker: GET /status on its Service, which says whether
 * the operator is a member of the AVS on-chain and how many of its responses the aggregator took.
 */
import type { WorkerStatus } from "../../services/avs/worker.js";
import type { AVSSubscription } from "../api/v1alpha1.js";
import { avsWorkerStatusUrl } from "../resources/avs.js";

export type AvsWorkerReport = Pick<WorkerStatus, "registered" | "tasksAnswered">;

export interface AvsWorkerApi {
  /** The worker's report; rejects when it does not answer, or not with a status. */
  status(subscription: AVSSubscription): Promise<AvsWorkerReport>;
}

export class HttpAvsWorkerApi implements AvsWorkerApi {
  constructor(private readonly timeoutMs = 3_000) {}

  async status(subscription: AVSSubscription): Promise<AvsWorkerReport> {
    const url = avsWorkerStatusUrl(subscription);
    const response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    const body = (await response.json()) as Partial<WorkerStatus>;
    if (typeof body.registered !== "boolean" || !Number.isInteger(body.tasksAnswered)) throw new Error(`GET ${url}: not a worker status`);
    return { registered: body.registered, tasksAnswered: body.tasksAnswered! };
  }
}
