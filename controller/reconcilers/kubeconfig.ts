/**
 * A KubeConfig whose requests share keep-alive connections. client-node (1.x) builds a new
 * https.Agent, without keep-alive, for every request it authenticates: each call is a new TCP
 * connection and a full TLS handshake, which costs the controller and the API server more CPU
 * than the call itself (the controller bench spent most of its time there). client-go keeps its
 * connections; so does this.
 */
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";
import { Agent } from "node:https";

class PooledKubeConfig extends KubeConfig {
  private pool: { agent: Agent; credentials: string } | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const agent = context.getAgent();
    // A proxy's agent is of its own kind and left alone; only a plain TLS connection is pooled.
    if (!(agent instanceof Agent) || agent.constructor !== Agent) return;
    // Read from their files for every request: a rotated CA or client certificate gets a new pool.
    const { ca, cert, key } = agent.options;
    const credentials = [ca, cert, key].map(String).join("\n");
    if (this.pool?.credentials !== credentials) {
      this.pool?.agent.destroy();
      this.pool = { agent: new Agent({ ...agent.options, keepAlive: true }), credentials };
    }
    context.setAgent(this.pool.agent);
  }
}

/** A copy of `kc` whose API clients reuse their connections. */
export function pooledKubeConfig(kc: KubeConfig): KubeConfig {
  const pooled = new PooledKubeConfig();
  pooled.loadFromOptions({ clusters: kc.clusters, contexts: kc.contexts, users: kc.users, currentContext: kc.currentContext });
  return pooled;
}
