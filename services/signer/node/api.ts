/**
 * The node's HTTP API on api.port, what the controller and the kubelet ask (contract in
 * controller/reconcilers/node-api.ts), plus the Web3Signer API for validator clients:
 *
 *     GET /v1/node                       {peerId, connectedPeers, keyShares: [{name, lastDuty?}]}
 *     GET /v1/slashing-protection?pubkey=0x..   EIP-3076 interchange of one validator
 *     GET /livez                         the process answers
 *     GET /readyz                        200 when identity, shares and a beacon node are there
 *     /api/v1/eth2/*, /upcheck           services/signer/web3signer
 *
 * And /metrics on its own port (metrics.port), as Prometheus scrapes it.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { Registry, register as defaultRegistry } from "prom-client";
import { NektarError } from "../../core/errors.js";
import type { Logger } from "../../core/log/index.js";
import type { Interchange } from "../slashingProtection/index.js";
import { registerWeb3SignerRoutes, type Web3SignerBackend } from "../web3signer/routes.js";

export interface NodeReport {
  peerId: string;
  connectedPeers: number;
  keyShares: { name: string; lastDuty?: { slot: number; type: string } }[];
}

export interface Readiness {
  ready: boolean;
  /** Each condition of readiness, and what is wrong with it when it is not met. */
  checks: Record<string, { ok: boolean; message?: string }>;
}

export interface NodeApiBackend extends Web3SignerBackend {
  report(): NodeReport;
  readiness(): Promise<Readiness>;
  /** Refuses with a NektarError a pubkey this node holds no share of. */
  /** What is on disk for the validator (an export waits for pending records to be fsynced). */
  slashingProtection(pubkey: string): Promise<Interchange>;
}

export interface ListenOptions {
  port: number;
  /** Default 0.0.0.0. */
  address?: string;
}

export interface HttpServer {
  /** http://address:port, the port resolved when 0 was asked. */
  readonly url: string;
  close(): Promise<void>;
}

/** `registry` takes the API's own metrics. */
export function buildNodeApi(backend: NodeApiBackend, logger: Logger, registry: Registry): FastifyInstance {
  // A whole pre-Bellatrix block is the largest request a validator client sends.
  const app = server(logger, { bodyLimit: 4 * 1024 * 1024 });
  app.get("/livez", async () => ({ status: "ok" }));
  app.get("/readyz", async (_, reply) => {
    const readiness = await backend.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
  app.get("/v1/node", async () => backend.report());
  app.get<{ Querystring: { pubkey?: string } }>("/v1/slashing-protection", async (request, reply) => {
    const { pubkey } = request.query;
    if (pubkey === undefined || !/^0x[0-9a-fA-F]{96}$/.test(pubkey)) {
      return reply.code(400).send({ error: "pubkey: a validator public key is needed, ?pubkey=0x<96 hex digits>" });
    }
    try {
      return await backend.slashingProtection(pubkey.toLowerCase());
    } catch (err) {
      if (err instanceof NektarError) return reply.code(404).send({ error: err.message });
      throw err;
    }
  });
  registerWeb3SignerRoutes(app, backend, registry);
  return app;
}

/** Fastify without its request log: errors it did not expect are logged here, with the route. */
function server(logger: Logger, options: { bodyLimit?: number } = {}): FastifyInstance {
  const app = Fastify({ logger: false, ...options });
  app.setErrorHandler((err: { statusCode?: number }, request, reply) => {
    if ((err.statusCode ?? 500) >= 500) logger.error({ err, method: request.method, url: request.url }, "request failed");
    return reply.send(err);
  });
  return app;
}

export async function listen(app: FastifyInstance, options: ListenOptions): Promise<HttpServer> {
  await app.listen({ port: options.port, host: options.address ?? "0.0.0.0" });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const host = options.address ?? "0.0.0.0";
  return { url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, close: () => app.close() };
}

/**
 * /metrics: prom-client's default registry (process metrics) and the node's, one of which is
 * replaced when shares are reloaded (so `registries` is asked at every scrape).
 */
export function buildMetricsServer(registries: () => Registry[], logger: Logger): FastifyInstance {
  const app = server(logger);
  app.get("/metrics", async (_, reply) => {
    const merged = Registry.merge([defaultRegistry, ...registries()]);
    return reply.type(merged.contentType).send(await merged.metrics());
  });
  return app;
}
