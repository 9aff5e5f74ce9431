/**
 * What the controller asks a running `nektar node`: its identity, peers and key shares, over
 * the node's API on the headless Service's stable pod DNS name.
 */
import type { Operator } from "../api/v1alpha1.js";
import { API_PORT, nodeName } from "../resources/operator.js";

export interface NodeReport {
  peerId: string;
  connectedPeers: number;
  /** Shares the node has loaded, with the last duty each signed. */
  keyShares: { name: string; lastDuty?: { slot: number; type: string } }[];
}

export interface NodeApi {
  /** The node's report; rejects when it does not answer. */
  report(operator: Operator): Promise<NodeReport>;
  /** The EIP-3076 interchange of one validator's slashing-protection records. */
  exportSlashingProtection(operator: Operator, validatorPubkey: string): Promise<string>;
}

export class HttpNodeApi implements NodeApi {
  constructor(private readonly timeoutMs = 3_000) {}

  async report(operator: Operator): Promise<NodeReport> {
    return (await this.get(operator, "/v1/node")).json() as Promise<NodeReport>;
  }

  async exportSlashingProtection(operator: Operator, validatorPubkey: string): Promise<string> {
    return (await this.get(operator, `/v1/slashing-protection?pubkey=${validatorPubkey}`)).text();
  }

  private async get(operator: Operator, path: string): Promise<Response> {
    const { name, namespace } = operator.metadata!;
    const host = `${nodeName(name!)}-0.${nodeName(name!)}.${namespace}.svc`;
    const response = await fetch(`http://${host}:${API_PORT}${path}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!response.ok) throw new Error(`node ${name}: GET ${path} answered ${response.status}`);
    return response;
  }
}
