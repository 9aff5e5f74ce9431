/**
 * The small HTTP server beside the worker and the aggregator: /livez, /readyz, /metrics and
 * the component's own read-only routes. Listens where the config says (127.0.0.1 by default).
 */
import Fastify from "fastify";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

export interface HttpServer {
  /** http://host:port, with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startHttp(
  listen: { host: string; port: number },
  registry: Registry,
  ready: () => boolean,
  routes: (app: FastifyInstance) => void,
): Promise<HttpServer> {
  const app = Fastify({ logger: false });
  app.get("/livez", async () => ({ ok: true }));
  app.get("/readyz", async (_request, reply) => (ready() ? { ready: true } : reply.code(503).send({ ready: false })));
  app.get("/metrics", async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  routes(app);
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : listen.port;
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
