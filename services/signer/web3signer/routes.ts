/**
 * The Web3Signer eth2 remote signing API, so an existing validator client can use a distributed
 * validator as its remote signer:
 *
 *     POST /api/v1/eth2/sign/{identifier}   sign; 200 {signature} (text/plain on request),
 *                                           400 bad request, 404 unknown key, 412 slashing
 *                                           protection refused, 503 the cluster did not sign
 *     GET  /api/v1/eth2/publicKeys          the validators this node signs for
 *     GET  /upcheck                         200 {status: "OK"}
 *
 * Statuses as Web3Signer answers them, so clients treat our refusals as theirs. Every signature
 * goes through the node's remoteSign: this node leads one round among its peers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Histogram, type Registry } from "prom-client";
import { toHex } from "../../core/hex.js";
import { RemoteSignError, RemoteSignFailure, type RemoteSignRequest } from "../remote.js";
import { BadSignRequestError, type ChainParams, SIGN_TYPES, checkedSigningRoot, parseSignRequest } from "./requests.js";

const SIGN_ROUTE = "/api/v1/eth2/sign/:identifier";

export interface Web3SignerBackend {
  /** The validators this node holds a share of, 0x-lowercase hex. */
  publicKeys(): string[];
  /** What signing roots depend on; undefined until the beacon node has told it. */
  chain(): ChainParams | undefined;
  remoteSign(request: RemoteSignRequest): Promise<Uint8Array>;
}

const FAILURE_STATUS: Record<RemoteSignFailure, number> = {
  [RemoteSignFailure.UnknownValidator]: 404,
  [RemoteSignFailure.InvalidRequest]: 400,
  [RemoteSignFailure.SlashingProtection]: 412,
  [RemoteSignFailure.InsufficientPartials]: 503,
  [RemoteSignFailure.InvalidSignature]: 503,
};

export function registerWeb3SignerRoutes(app: FastifyInstance, backend: Web3SignerBackend, registry: Registry): void {
  const duration = new Histogram({
    name: "nektar_web3signer_request_duration_seconds",
    help: "Signing requests from validator clients, by request type and HTTP status, and how long the cluster took",
    labelNames: ["type", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  app.get("/upcheck", async () => ({ status: "OK" }));

  app.get("/api/v1/eth2/publicKeys", async () => backend.publicKeys());

  app.addHook("onResponse", async (request, reply) => {
    if (request.routeOptions.url !== SIGN_ROUTE) return;
    const type = (request.body as { type?: unknown } | undefined)?.type;
    duration.observe({ type: typeof type === "string" && (SIGN_TYPES as readonly string[]).includes(type) ? type : "invalid", status: reply.statusCode }, reply.elapsedTime / 1000);
  });

  app.post(SIGN_ROUTE, async (request: FastifyRequest<{ Params: { identifier: string } }>, reply) => {
    const pubkey = request.params.identifier.toLowerCase();
    if (!backend.publicKeys().includes(pubkey)) return fail(reply, 404, `public key ${request.params.identifier} not found: this node holds no share of it`);
    const chain = backend.chain();
    if (chain === undefined) return fail(reply, 503, "the node does not know its chain yet (no beacon node has answered)");
    try {
      const parsed = parseSignRequest(request.body, chain);
      // Checked before anything is signed: a client that computes another root would be handed a
      // signature it cannot use, or one over something it did not mean.
      checkedSigningRoot(parsed, chain);
      const { message } = parsed;
      if (message.type === "deposit") {
        return fail(reply, 400, "type: DEPOSIT is not signed through the remote signing API: a distributed validator's deposit data is signed threshold-wise by its DKG (deposit_data.json)");
      }
      const signature = await backend.remoteSign({
        ...message,
        pubkey: Buffer.from(pubkey.slice(2), "hex"),
        ...(parsed.forkInfo && { genesisValidatorsRoot: parsed.forkInfo.genesisValidatorsRoot }),
      } as RemoteSignRequest);
      const hex = toHex(signature);
      return prefersText(request) ? reply.type("text/plain").send(hex) : { signature: hex };
    } catch (err) {
      if (err instanceof BadSignRequestError) return fail(reply, 400, err.message);
      if (err instanceof RemoteSignError) return fail(reply, FAILURE_STATUS[err.failure], err.message);
      throw err;
    }
  });
}

function fail(reply: FastifyReply, status: number, message: string) {
  return reply.code(status).send({ error: message });
}

/**
 * JSON unless the client asks for text/plain only. Web3Signer answers text/plain by default,
 * but clients that send no Accept header (Lodestar up to 1.x) parse the answer as JSON.
 */
function prefersText(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? "";
  return accept.includes("text/plain") && !accept.includes("application/json");
}
