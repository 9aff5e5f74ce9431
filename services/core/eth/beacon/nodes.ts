/**
 * Several beacon nodes behind one Transport: a request goes to the node most likely to answer,
 * and on a failure another node could avoid (unreachable, timeout, 5xx) to the next one.
 *
 * Preference: nodes that have not failed recently come first, in the order given (the operator's
 * own node first, say); a node that failed goes to the back for `cooldownMs`, or until it
 * answers again. A 4xx answer is final: the request is wrong, and every node would say so.
 */
import { NektarError } from "../../errors.js";
import { BeaconApiError, HttpTransport, type BeaconRequest, type BeaconResponse, type HttpTransportOptions, type Transport } from "./transport.js";

export interface BeaconNodesOptions extends HttpTransportOptions {
  /** How long a failed node stays behind the healthy ones. Default one slot's worth, 12 s. */
  readonly cooldownMs?: number;
  /** The clock; tests pass their own. */
  readonly now?: () => number;
}

export interface NodeState {
  readonly baseUrl: string;
  /** When it last failed a request, or undefined if it has not since its last success. */
  readonly failedAt: number | undefined;
  readonly lastError: BeaconApiError | undefined;
}

/** All nodes failed: the error of each, in the order tried. */
export class AllBeaconNodesFailedError extends NektarError {
  constructor(
    readonly endpoint: string,
    readonly errors: readonly BeaconApiError[],
  ) {
    super(`no beacon node answered ${endpoint}:\n${errors.map((e) => `  - ${e.message}`).join("\n")}`);
  }
}

export class BeaconNodes implements Transport {
  private readonly nodes: { transport: HttpTransport; failedAt: number | undefined; lastError: BeaconApiError | undefined }[];
  private readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(urls: readonly string[], options: BeaconNodesOptions = {}) {
    if (urls.length === 0) throw new NektarError("beacon nodes: at least one URL is needed");
    this.nodes = urls.map((url) => ({ transport: new HttpTransport(url, options), failedAt: undefined, lastError: undefined }));
    this.cooldownMs = options.cooldownMs ?? 12_000;
    this.now = options.now ?? Date.now;
  }

  /** Each node's standing, in the order the next request will try them. */
  states(): NodeState[] {
    return this.ordered().map(({ transport, failedAt, lastError }) => ({ baseUrl: transport.baseUrl, failedAt, lastError }));
  }

  async request(request: BeaconRequest): Promise<BeaconResponse> {
    const errors: BeaconApiError[] = [];
    for (const node of this.ordered()) {
      try {
        const response = await node.transport.request(request);
        node.failedAt = undefined;
        node.lastError = undefined;
        return response;
      } catch (error) {
        if (!(error instanceof BeaconApiError)) throw error;
        if (!error.retryable) throw error;
        node.failedAt = this.now();
        node.lastError = error;
        errors.push(error);
      }
    }
    throw new AllBeaconNodesFailedError(`${request.method} ${request.path.split("?")[0]}`, errors);
  }

  /**
   * Asks every node for /eth/v1/node/health (200 ready, 206 syncing, else not) so that a node
   * which came back is preferred again, and one that went down is skipped before a duty needs it.
   */
  async checkHealth(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        try {
          const { status } = await node.transport.request({ method: "GET", path: "/eth/v1/node/health" });
          if (status === 200) {
            node.failedAt = undefined;
            node.lastError = undefined;
            return;
          }
          node.lastError = new BeaconApiError(node.transport.baseUrl, "GET /eth/v1/node/health", "status", status, "not ready (syncing)");
        } catch (error) {
          if (!(error instanceof BeaconApiError)) throw error;
          node.lastError = error;
        }
        node.failedAt = this.now();
      }),
    );
  }

  private ordered() {
    const now = this.now();
    const cooling = (failedAt: number | undefined) => failedAt !== undefined && now - failedAt < this.cooldownMs;
    // Array.prototype.sort is stable: the configured order holds within each group.
    return [...this.nodes].sort((a, b) => Number(cooling(a.failedAt)) - Number(cooling(b.failedAt)));
  }
}
